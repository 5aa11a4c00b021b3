import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SyntheticLog } from '../fixtures/log-writes/synthetic-log.js';

// Every command's contract for bad input: exit 2, exactly one line on stderr that says what is
// wrong, no stack trace, and at once (before a VM boots, a bench cell runs or a recording starts).
// A table, so a new option gets its bad values added here in one line. Cases that pass the
// option in question carry small settings otherwise, so a regression costs seconds, not minutes:
// a case that runs on is stopped after CASE_TIMEOUT_MS and fails.

const ROOT = resolve(import.meta.dirname, '../..');
// Bounds for a loaded machine (CI shares its CPUs; a bench start-up alone took over 12 s at load
// 20 with five cases at once): what shows that no work started is the exit 2 with one line, since
// a command that ran on would print its progress and exit otherwise.
const CASE_TIMEOUT_MS = 60_000;
const QUICK_MS = 45_000;

const tmp = mkdtempSync(join(tmpdir(), 'powercut-bad-input-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const aFile = join(tmp, 'a-file');
writeFileSync(aFile, 'not a directory, not a log\n');
const emptyDir = join(tmp, 'empty');
mkdirSync(emptyDir);
const log = join(tmp, 'synthetic.log');
writeFileSync(log, new SyntheticLog().fill(2, 2, 7).flush().mark('ack-1').discard(2, 1).toBuffer());
const img = join(tmp, 'out.img');
const recording = join(ROOT, 'test', 'fixtures', 'recordings', 'ext4-fdatasync');
const huge = '99999999999999999999';
const small = ['--duration', '0.2', '--rounds', '1', '--peers', 'none', '--strategy', 'none', '--fs', 'host', '--no-charts', '--out', join(tmp, 'bench-out')];
const ct = ['--strategy', 'none', '--trials', '1'];

type Cli = 'bench' | 'crashtest' | 'fuzz' | 'replay' | 'vm' | 'doctor';
// The third column names a case that was a bug (issue 13): its regression test.
const CASES: [Cli, string[], string?][] = [
  // bench
  ['bench', ['--duration']],
  ['bench', ['--duration', '-1']],
  ['bench', ['--duration', 'abc']],
  ['bench', ['--duration', '1e9']],
  ['bench', ['--rounds', '0']],
  ['bench', ['--rounds', huge]],
  ['bench', ['--writers', '1,,2']],
  ['bench', ['--writers', '-4']],
  ['bench', ['--writers', huge]],
  ['bench', ['--size', '0']],
  ['bench', ['--size', '1q']],
  ['bench', ['--strategy', 'nosuch']],
  ['bench', ['--fs', 'zfs']],
  ['bench', ['--writer-threads', '65']],
  ['bench', ['--peers', 'postgres']],
  ['bench', ['--background-io', 'loud']],
  ['bench', ['--bogus']],
  ['bench', ['stray-argument']],
  ['bench', [...small, '--out', aFile], 'BenchOutIsAFileIsRefusedBeforeTheRun'],
  ['bench', [...small, '--work-dir', aFile], 'BenchWorkDirIsAFileIsRefusedBeforeTheRun'],
  ['bench', [...small, '--out', join(aFile, 'under-a-file')]],
  ['bench', [...small, '--out', '/proc/powercut-cannot-create'], 'BenchOutThatCannotBeCreatedIsRefusedBeforeTheRun'],
  ['bench', [...small, '--work-dir', '/proc/powercut-cannot-create']],
  // crashtest
  ['crashtest', []],
  ['crashtest', ['--strategy']],
  ['crashtest', ['--strategy', 'fsync2']],
  ['crashtest', ['--strategy', 'none', '--group-commit']],
  ['crashtest', ['--strategy', 'none', '--trials', '0']],
  ['crashtest', ['--strategy', 'none', '--trials', '-3']],
  ['crashtest', ['--strategy', 'none', '--trials', huge]],
  ['crashtest', ['--strategy', 'none', '--trials', '1.5']],
  ['crashtest', ['--strategy', 'none', '--seed', 'abc']],
  ['crashtest', ['--strategy', 'none', '--seed', huge]],
  ['crashtest', ['--strategy', 'none', '--trial', '1']],
  ['crashtest', ['--strategy', 'none', '--fs', 'zfs']],
  ['crashtest', ['--strategy', 'none', '--scenario', 'meteor']],
  ['crashtest', ['--strategy', 'none', '--mode', 'nope']],
  ['crashtest', [...ct, '--json', emptyDir], 'CrashtestJsonThatCannotBeWrittenIsRefusedBeforeTheRun'],
  ['crashtest', [...ct, '--json', join(tmp, 'no-such-dir', 'r.json')]],
  ['crashtest', [...ct, '--artifacts', aFile]],
  ['crashtest', ['--bogus']],
  ['crashtest', ['--self-test', '--fail-fast']],
  ['crashtest', ['--target', 'sqlite', '--fail-fast']],
  // crashtest --target (issue 14)
  ['crashtest', ['--target', 'nosuch']],
  ['crashtest', ['--target', 'sqlite', '--settings', 'wal-bogus']],
  ['crashtest', ['--target', 'leveldb', '--settings', 'sync-true,maybe']],
  ['crashtest', ['--target', 'wal', '--settings', 'fsync2']],
  ['crashtest', ['--target', 'postgres', '--settings', 'sc-on']],
  ['crashtest', ['--target', 'postgres', '--settings', 'sc-on.fsync-on.fpw-on.fdatasync.wal-dev', '--mode', 'log-writes']],
  ['fuzz', ['--target', 'postgres', '--settings', 'sc-on.fsync-on.fpw-on.fdatasync.wal-dev']],
  ['crashtest', ['--target', 'postgres', '--mode', 'log-writes', '--settings', 'sc-off']],
  ['fuzz', ['--target', 'postgres', '--settings', 'sc-on.fsync-on']],
  ['crashtest', ['--target', 'sqlite', '--strategy', 'fsync']],
  ['crashtest', ['--target', 'sqlite', '--run', 'true']],
  ['crashtest', ['--target', 'exec']],
  ['crashtest', ['--target', 'exec', '--run', 'true']],
  ['crashtest', ['--target', 'exec', '--run', 'true', '--check', 'true', '--promise', 'window:soon']],
  ['crashtest', ['--target', 'exec', '--run', 'true', '--check', 'true', '--settings', 'all']],
  ['crashtest', ['--target', 'exec', '--run', 'true', '--check', 'true', '--devices', '3']],
  ['crashtest', ['--target', 'exec', '--run', 'true', '--check', 'true', '--devices', '2', '--mode', 'log-writes']],
  ['crashtest', ['--target', 'sqlite', '--devices', '2']],
  ['crashtest', ['--target', 'all', '--devices', '2']],
  ['crashtest', ['--devices', '2']],
  ['crashtest', ['--settings', 'wal-full']],
  ['crashtest', ['recheck']],
  ['crashtest', ['recheck', aFile]],
  ['crashtest', ['recheck', join(tmp, 'nonexistent')]],
  ['crashtest', ['recheck', emptyDir, 'extra']],
  // fuzz
  ['fuzz', ['--check', emptyDir], 'FuzzCheckOfAnEmptyDirIsNotASilentPass'],
  ['fuzz', ['--check', aFile], 'FuzzCheckOfAFileSaysNotADirectory'],
  ['fuzz', ['--check', join(tmp, 'nonexistent')]],
  ['fuzz', ['--check']],
  ['fuzz', ['--from', aFile], 'FuzzFromAFileSaysNotADirectory'],
  ['fuzz', ['--from', join(tmp, 'nonexistent')], 'FuzzFromBadPathPrintsNoBannerFirst'],
  ['fuzz', ['--from', emptyDir]],
  ['fuzz', ['--recordings', huge], 'FuzzRecordingsHugeIsRefused'],
  ['fuzz', ['--recordings', '0']],
  ['fuzz', ['--runs', huge], 'FuzzRunsHugeIsRefused'],
  ['fuzz', ['--runs', '0']],
  ['fuzz', ['--runs', '-1']],
  ['fuzz', ['--runs', 'abc']],
  ['fuzz', ['--seed', '1e3']],
  ['fuzz', ['--strategy', 'bogus']],
  ['fuzz', ['--fs', 'zfs']],
  ['fuzz', ['--recording', recording]],
  ['fuzz', ['--state', 'prefix@1']],
  ['fuzz', ['--recording', recording, '--state', 'nosuch']],
  ['fuzz', ['--recording', aFile, '--state', 'prefix@1']],
  ['fuzz', ['--recording', emptyDir, '--state', 'prefix@1']],
  ['fuzz', ['--bogus']],
  ['fuzz', ['--check', recording, '--shard', '4/4']],
  ['fuzz', ['--check', recording, '--shard', '0/0']],
  ['fuzz', ['--check', recording, '--shard', '1']],
  ['fuzz', ['--check', recording, '--shard', 'a/b']],
  ['fuzz', ['--check', recording, '--shard', '-1/4']],
  ['fuzz', ['--shard', '0/4']],
  ['fuzz', ['--check', recording, '--store', aFile]],
  ['fuzz', ['merge']],
  ['fuzz', ['merge', join(tmp, 'nonexistent')]],
  ['fuzz', ['merge', aFile]],
  ['fuzz', ['merge', emptyDir]],
  ['fuzz', ['merge', emptyDir, '--json', join(aFile, 'under-a-file')]],
  ['fuzz', ['merge', '--bogus', emptyDir]],
  ['fuzz', ['stray-argument']],
  // replay
  ['replay', []],
  ['replay', ['--log']],
  ['replay', ['--log', emptyDir, '--list'], 'ReplayLogDirectoryIsAClearError'],
  ['replay', ['--log', join(tmp, 'nonexistent'), '--list']],
  ['replay', ['--log', aFile, '--list']],
  ['replay', ['--log', log]],
  ['replay', ['--log', log, '--to', 'mark', 'ack-1']],
  ['replay', ['--log', log, '--to', 'mark', 'nosuchmark', '--out', img]],
  ['replay', ['--log', log, '--to', 'entry', 'abc', '--out', img]],
  ['replay', ['--log', log, '--to', 'entry', huge, '--out', img]],
  ['replay', ['--log', log, '--to', 'sideways', '--out', img]],
  ['replay', ['--log', log, '--to', 'state', 'nosuch', '--out', img]],
  ['replay', ['--log', log, '--to', 'end', '--out', img, '--size', '1'], 'ReplaySizeSmallerThanTheLogIsRefused'],
  ['replay', ['--log', log, '--to', 'end', '--out', img, '--size', 'abc']],
  ['replay', ['--log', log, '--to', 'end', '--out', img, '--size', `${huge}t`]],
  ['replay', ['--log', log, '--to', 'end', '--out', emptyDir]],
  ['replay', ['--log', log, '--to', 'end', '--out', join(tmp, 'no-such-dir', 'x.img')]],
  ['replay', ['--log', log, '--states', '--exhaustive', huge]],
  ['replay', ['--log', log, '--states', '--exhaustive', '64']],
  ['replay', ['--log', log, '--states', '--samples', '-1']],
  ['replay', ['--log', log, '--states', '--tears', '1e3']],
  ['replay', ['--log', log, '--states', '--seed', 'x']],
  ['replay', ['--log', log, '--bogus']],
  // vm
  ['vm', []],
  ['vm', ['--timeout']],
  ['vm', ['--timeout', '0', '--', 'true']],
  ['vm', ['--timeout', 'abc', '--', 'true']],
  ['vm', ['--timeout', '99999999999', '--', 'true'], 'VmTimeoutBeyondATimerIsRefused'],
  ['vm', ['--share', join(tmp, 'nonexistent'), '--', 'true']],
  ['vm', ['--share', aFile, '--', 'true']],
  ['vm', ['--share', '/', '--', 'true']],
  ['vm', ['--bogus']],
  // doctor
  ['doctor', ['--bogus']],
  ['doctor', ['stray-argument']],
  ['doctor', ['--fix=yes']],
  ['doctor', ['--quick', '-x']],
];

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  ms: number;
}

// One process per case, in its own group so that a case that runs on (a regression) is stopped
// with everything it started.
function runCli(cli: Cli, args: string[]): Promise<Outcome> {
  const started = Date.now();
  // A ledger directory of its own: what other runs on this machine left is not this test's to reap or print.
  const env = { ...process.env, POWERCUT_LEDGER_DIR: join(tmp, 'ledgers') };
  const child = spawn(process.execPath, ['--import', 'tsx', `src/cli/${cli}.ts`, ...args], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGTERM');
      setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // gone
        }
      }, 3000).unref();
    } catch {
      // gone
    }
  }, CASE_TIMEOUT_MS);
  return new Promise((done) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stderr, ms: Date.now() - started });
    }),
  );
}

describe.concurrent('bad input: exit 2, one line, no stack, at once', () => {
  it.each(CASES.map(([cli, args, name]) => [cli, args, name ?? ''] as const))('%s %j %s', async (cli, args) => {
    const r = await runCli(cli, args);
    const lines = r.stderr
      .trimEnd()
      .split('\n')
      .filter((l) => l !== '');
    expect({ code: r.code, lines: lines.length, stderr: r.stderr }).toMatchObject({ code: 2, lines: 1 });
    expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    expect(lines[0]).toMatch(new RegExp(`^${cli}\\b`));
    expect(r.ms).toBeLessThan(QUICK_MS);
  });

  it('the battery is large enough to mean something', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(60);
  });
});
