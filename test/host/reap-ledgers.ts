import { rmSync } from 'node:fs';
import { reapOrphans } from '../../src/dm/cleanup-stack.js';

// For host tests that run CLIs with a ledger directory of their own (POWERCUT_LEDGER_DIR): a
// failed case may have been SIGKILLed, so what its ledger lists is released before the ledger
// directory goes.
export async function reapLedgerDir(ledgers: string): Promise<void> {
  const saved = process.env.POWERCUT_LEDGER_DIR;
  process.env.POWERCUT_LEDGER_DIR = ledgers;
  try {
    await reapOrphans();
  } finally {
    if (saved === undefined) delete process.env.POWERCUT_LEDGER_DIR;
    else process.env.POWERCUT_LEDGER_DIR = saved;
    rmSync(ledgers, { recursive: true, force: true });
  }
}
