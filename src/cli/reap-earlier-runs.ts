import { DeviceError } from '../dm/device-error.js';
import { reapOrphans } from '../dm/cleanup-stack.js';

// Every command starts by releasing what earlier runs left when they were killed without a chance
// to unwind (SIGKILL, OOM, a lost VM host): their loop devices, mounts, dm devices, servers,
// bundles and scratch directories, as their ledgers list them. Left in place they hold loop
// devices and disk space for good, and a PostgreSQL server from a killed bench keeps running.
// What cannot be released stops the command with one line naming it: a new run on top of a
// half-removed device stack would fail in a far less obvious way.
export async function reapEarlierRuns(command: string, say: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<void> {
  const reaped = await reapOrphans();
  const failed = reaped.filter((r) => r.failures.length > 0);
  for (const r of reaped) {
    if (r.failures.length === 0) say(`${command}: released what an earlier run (pid ${r.pid}, killed) left behind: ${r.released.join(', ')}`);
  }
  if (failed.length > 0) {
    const what = failed.map((r) => `pid ${r.pid}: ${r.failures.join('; ')}`).join(' | ');
    throw new DeviceError(
      'CLEANUP_FAILED',
      `an earlier killed run left what cannot be released (${what}); release it by hand; \`pnpm run doctor\` lists what is left`,
    );
  }
}
