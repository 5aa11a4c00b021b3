import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import type { TargetTrialOutcome } from '../../src/crash/outcome.js';
import type { RunResults } from '../../src/crash/results.js';
import { pgUnavailable } from '../../src/targets/pg-server.js';
import { readManifest } from '../../src/vm/index.js';
import { until } from './until.js';

// The postgres target in dm-log-writes mode end to end (issue 14), as a user runs it: a real
// PostgreSQL 15 recorded on dm-log-writes in the microVM (a mark after each commit, the workload
// waiting for it), then every crash state checked on this host: the state loop-mounted, a server
// started on it as the postgres user in its own namespaces (its crash recovery), every row read
// back, pg_amcheck. The durable setting must hold in every state; synchronous_commit off must
// lose commits in some states (a weak setting shown weak) but none older than its window, which
// the recording must span. Nothing is left behind: no server, no mount of a state, also on Ctrl-C
// while a state's server runs. About 3 minutes under load.

const ROOT = path.resolve(import.meta.dirname, '../..');
const tsx = path.join(ROOT, 'node_modules/.bin/tsx');
const dmOnHost = /\bdevice-mapper\b/.test(readFileSync('/proc/misc', 'utf8'));
const why =
  process.getuid?.() !== 0
    ? 'needs root'
    : (pgUnavailable() ?? (!dmOnHost && !readManifest() ? 'no device-mapper and no prepared microVM (pnpm vm --prepare)' : undefined));
const DURABLE = 'sc-on.fsync-on.fpw-on.fdatasync';
const WINDOW = 'sc-off.fsync-on.fpw-on.fdatasync';

const tmp = mkdtempSync(path.join(tmpdir(), 'powercut-target-pg-lw-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Servers this host runs on crash states (their data directory is under a check's work directory). */
function stateServers(): string[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .flatMap((pid) => {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        return cmdline.includes('powercut-check-') && cmdline.includes('postgres') ? [`${pid} ${cmdline.replace(/\0/g, ' ')}`] : [];
      } catch {
        return [];
      }
    });
}

const stateMounts = () =>
  readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .filter((l) => l.includes('powercut-check-'));

/** The checks' work directories (src/crash/explore/check-states.ts, unpackLog). */
const checkDirs = () => (existsSync('/dev/shm') ? readdirSync('/dev/shm').filter((n) => n.startsWith('powercut-check-')) : []);

describe.skipIf(why !== undefined)(`crashtest --target postgres --mode log-writes${why ? ` (skipped: ${why})` : ''}`, () => {
  it('the durable setting holds in every crash state; synchronous_commit off loses only commits inside its window', { timeout: 600_000 }, async () => {
    const json = path.join(tmp, 'run.json');
    const args = ['src/cli/crashtest.ts', '--target', 'postgres', '--mode', 'log-writes', '--settings', `${DURABLE},${WINDOW}`, '--trials', '1'];
    args.push('--seed', '14', '--json', json, '--artifacts', path.join(tmp, 'artifacts'));
    // Awaited, not spawnSync'd: a worker blocked for minutes cannot answer vitest's RPC.
    const r = await execa(tsx, args, { cwd: ROOT, reject: false, timeout: 540_000 });
    if (!existsSync(json)) throw new Error(`crashtest exited ${r.exitCode ?? r.signal} without results:\n${r.stdout}\n${r.stderr}`);
    const results = JSON.parse(readFileSync(json, 'utf8')) as RunResults<TargetTrialOutcome>;
    const bySetting = new Map(results.trials.map((t) => [t.target.setting, t]));
    const durable = bySetting.get(DURABLE);
    const window = bySetting.get(WINDOW);
    for (const t of [durable, window]) {
      expect(t?.mode).toBe('log-writes');
      // A broken promise would be a finding with its artifact: shown here in full.
      expect(t?.status === 'held' ? '' : `${t?.target.setting}: ${t?.reasons.join('; ')} (artifacts ${t?.artifactDir})`).toBe('');
      expect(t?.target.states).toBeGreaterThan(10);
      expect(t?.target.verdict.loss.acked).toBeGreaterThan(0);
    }
    expect(r.exitCode, r.stderr).toBe(0);
    expect(durable?.target.verdict.loss.ackedButLost).toBe(0);
    // The window was tested: the acknowledgements span more than it, and some states lost commits it allows.
    const span = Number(/(\d+) acknowledgements over (\d+) ms/.exec(window?.notes.join('\n') ?? '')?.[2]);
    expect(span, window?.notes.join('\n')).toBeGreaterThan(600);
    expect(window?.notes.join('\n')).toMatch(/[1-9]\d* of \d+ states lost acknowledged keys the promise \(window:600\) allows/);
    expect(stateServers()).toEqual([]);
    expect(stateMounts()).toEqual([]);
  });

  it('Ctrl-C while a crash state is checked leaves no server, mount or work directory behind', { timeout: 400_000 }, async () => {
    const before = checkDirs();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/crashtest.ts', '--target', 'postgres', '--mode', 'log-writes', '--settings', DURABLE, '--trials', '1'],
      { cwd: ROOT, detached: true, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, sig) => resolve({ code, signal: sig })),
    );
    expect(await until(() => stateServers().length > 0 || child.exitCode !== null, 300_000), `no state's server started: ${stderr}`).toBe(true);
    expect(child.exitCode, stderr).toBeNull();
    process.kill(-(child.pid as number), 'SIGINT');
    const end = await exited;
    // Dead of the signal (re-raised after the cleanup), or its shell status.
    expect(['SIGINT', 130], stderr).toContain(end.signal ?? end.code);
    expect(await until(() => stateServers().length === 0, 10_000), stateServers().join('\n')).toBe(true);
    expect(stateMounts()).toEqual([]);
    expect(checkDirs().filter((d) => !before.includes(d))).toEqual([]);
  });
});
