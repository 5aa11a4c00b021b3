import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readManifest } from '../../src/vm/index.js';
import { SyntheticLog } from '../fixtures/log-writes/synthetic-log.js';
import { until } from './until.js';

// Issue 13: fuzz left its recorder bundle dist/record-* after Ctrl-C or a kill: it was on no
// cleanup stack and in no ledger. Now Ctrl-C removes it, and after SIGKILL the next command does
// (every command reaps the ledgers of killed runs before it starts).

const ROOT = resolve(import.meta.dirname, '../..');
const dist = join(ROOT, 'dist');
const tmp = mkdtempSync(join(tmpdir(), 'powercut-recorder-bundle-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const env = { ...process.env, POWERCUT_LEDGER_DIR: join(tmp, 'ledgers') };
const log = join(tmp, 'synthetic.log');
writeFileSync(log, new SyntheticLog().fill(2, 2, 7).flush().toBuffer());
const hasQemu = spawnSync('sh', ['-c', 'command -v qemu-system-x86_64']).status === 0;
const why = process.getuid?.() !== 0 ? 'requires root' : !hasQemu || !readManifest() ? 'no microVM to record in' : undefined;

const bundles = () => (existsSync(dist) ? readdirSync(dist).filter((n) => n.startsWith('record-')) : []);

async function startFuzzAndSignal(signal: NodeJS.Signals): Promise<string> {
  const before = new Set(bundles());
  const fuzz = spawn(process.execPath, ['--import', 'tsx', 'src/cli/fuzz.ts', '--recordings', '1', '--runs', '1', '--no-save'], {
    cwd: ROOT,
    env,
    stdio: 'ignore',
    detached: true,
  });
  const exited = new Promise<void>((r) => fuzz.on('exit', () => r()));
  let mine: string | undefined;
  try {
    expect(await until(() => (mine = bundles().find((b) => !before.has(b))) !== undefined, 60_000), 'no recorder bundle appeared').toBe(true);
    fuzz.kill(signal);
    await exited;
    return mine!;
  } finally {
    try {
      process.kill(-fuzz.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

describe.skipIf(why !== undefined)(`the recorder bundle never outlives fuzz${why ? ` (skipped: ${why})` : ''}`, () => {
  it('RecorderBundleIsRemovedOnCtrlC', async () => {
    const bundle = await startFuzzAndSignal('SIGINT');
    expect(await until(() => !existsSync(join(dist, bundle)), 10_000), `${bundle} left behind`).toBe(true);
  }, 120_000);

  it('RecorderBundleOfAKilledFuzzIsRemovedByTheNextCommand', async () => {
    const bundle = await startFuzzAndSignal('SIGKILL');
    expect(existsSync(join(dist, bundle)), 'SIGKILL gives no chance to unwind: the bundle is there').toBe(true);
    const next = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/replay.ts', '--log', log, '--list'], { cwd: ROOT, env, encoding: 'utf8' });
    expect(next.status).toBe(0);
    expect(next.stderr).toMatch(new RegExp(`replay: released what an earlier run \\(pid \\d+, killed\\) left behind: .*directory ${dist}/${bundle}`));
    expect(existsSync(join(dist, bundle))).toBe(false);
  }, 120_000);
});
