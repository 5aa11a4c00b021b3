import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import type { StateResult } from '../../src/crash/explore/check-report.js';
import { ResultStore } from '../../src/crash/explore/result-store.js';
import { readMountTable } from '../../src/dm/index.js';
import { reapLedgerDir } from './reap-ledgers.js';
import { until } from './until.js';

// A campaign as a user runs it (docs/crash/scale.md), through the real CLI as root: `pnpm fuzz
// --check REC --store S --jobs 2` stopped by Ctrl-C (SIGINT to the process group) or by SIGTERM to
// the top process only (a supervisor), then run again; and `--shard i/4 --store Si` for i = 0..3
// merged by `pnpm fuzz merge`. Each must end with the report of one uninterrupted, unsharded run,
// state for state (every stored result compared, and the --json report). The in-process
// counterparts are in check-states-scale.test.ts.

const ROOT = resolve(import.meta.dirname, '../..');
const REC = join(ROOT, 'test/fixtures/recordings/ext4-periodic');
const NAME = 'ext4-periodic';
const why = process.getuid?.() !== 0 ? 'requires root (loop mounts)' : undefined;
const work = mkdtempSync(join(tmpdir(), 'powercut-campaign-cli-'));
const ledgers = mkdtempSync(join(tmpdir(), 'powercut-campaign-ledgers-'));
// The checks' work directories (unzipped log, slot images, mount points) go here, so what a run
// leaves behind is told apart from other runs on the machine.
const checkDir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'powercut-campaign-check-'));
const env = { ...process.env, POWERCUT_LEDGER_DIR: ledgers, POWERCUT_CHECK_DIR: checkDir };

afterAll(async () => {
  await reapLedgerDir(ledgers);
  for (const dir of [work, checkDir]) rmSync(dir, { recursive: true, force: true });
});

function fuzz(args: string[]): ResultPromise<{ cwd: string; env: typeof env; reject: false; detached: true; all: true }> {
  return execa('pnpm', ['-s', 'fuzz', ...args], { cwd: ROOT, env, reject: false, detached: true, all: true });
}

/** Every result a store holds for the recording, by state id, and the enumeration's state ids. */
function stored(dir: string): { states: string[]; results: Map<string, StateResult> } {
  const header = new ResultStore(dir).headers().find((h) => h.recording === NAME);
  if (header === undefined) return { states: [], results: new Map() };
  const results = new ResultStore(dir).known(header.recording, header.recordingHash, header.checker);
  return { states: header.states, results };
}

function storedLines(dir: string): number {
  try {
    const file = readdirSync(dir).find((f) => f.endsWith('.jsonl'));
    return file === undefined
      ? 0
      : readFileSync(join(dir, file), 'utf8')
          .split('\n')
          .filter((l) => l.endsWith('}')).length;
  } catch {
    return 0;
  }
}

/** Nothing of a check left: no work directory, mount or loop device under checkDir, no ledger. */
function leftovers(): string[] {
  const left: string[] = readdirSync(checkDir).map((d) => `dir ${d}`);
  for (const m of readMountTable()) if (m.mountPoint.startsWith(checkDir)) left.push(`mount ${m.mountPoint}`);
  const loops = execFileSync('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE'], { encoding: 'utf8' });
  for (const line of loops.split('\n')) if (line.includes(checkDir)) left.push(`loop ${line.trim()}`);
  for (const l of readdirSync(ledgers).filter((n) => n.endsWith('.json'))) left.push(`ledger ${l}`);
  return left;
}

/** The shell's status of a finished child: its exit code, or 128 + the signal that ended it. */
function shellStatus(r: { exitCode?: number; signal?: string }): number | undefined {
  if (r.exitCode !== undefined) return r.exitCode;
  return r.signal === undefined ? undefined : 128 + constants.signals[r.signal as keyof typeof constants.signals];
}

interface Baseline {
  json: unknown;
  store: ReturnType<typeof stored>;
}
let baseline: Baseline | undefined;

async function plainRun(): Promise<Baseline> {
  if (baseline !== undefined) return baseline;
  const store = join(work, 'plain');
  const json = join(work, 'plain.json');
  const r = await fuzz(['--check', REC, '--jobs', '2', '--store', store, '--json', json]);
  expect(r.exitCode, r.all).toBe(0);
  baseline = { json: JSON.parse(readFileSync(json, 'utf8')), store: stored(store) };
  expect(baseline.store.results.size).toBe(baseline.store.states.length);
  expect(baseline.store.states.length).toBeGreaterThan(100);
  return baseline;
}

/** Every state of the enumeration has the plain run's result in these stores together. */
function expectStateForState(dirs: string[], plain: Baseline): void {
  const union = new Map<string, StateResult>();
  for (const dir of dirs) for (const [id, result] of stored(dir).results) union.set(id, result);
  expect(union.size).toBe(plain.store.states.length);
  for (const id of plain.store.states) expect(union.get(id), id).toEqual(plain.store.results.get(id));
}

async function interruptAndResume(signal: 'SIGINT' | 'SIGTERM', toGroup: boolean, label: string): Promise<void> {
  const plain = await plainRun();
  const total = plain.store.states.length;
  const store = join(work, label);
  const args = ['--check', REC, '--store', store, '--jobs', '2'];
  const run = fuzz(args);
  try {
    // Some states judged, most still to come.
    expect(await until(() => storedLines(store) >= 20, 90_000), 'the run never stored a judged state').toBe(true);
    process.kill(toGroup ? -run.pid! : run.pid!, signal);
    const r = await run;
    expect(storedLines(store), 'the run finished before the signal').toBeLessThan(total);
    expect(shellStatus(r), r.all).toBe(128 + constants.signals[signal]);
    expect(await until(() => leftovers().length === 0, 15_000), `left behind: ${leftovers().join(', ')}`).toBe(true);
  } finally {
    try {
      process.kill(-run.pid!, 'SIGKILL');
    } catch {
      // all gone, as it should be
    }
  }
  const held = stored(store).results.size;
  expect(held).toBeGreaterThan(0);
  expect(held).toBeLessThan(total);
  const json = join(work, `${label}.json`);
  const again = await fuzz([...args, '--json', json]);
  expect(again.exitCode, again.all).toBe(0);
  expect(again.stderr).toContain(`${NAME}: ${held} of ${total} states already judged in the store, skipped`);
  expect(again.stdout).toContain(`  ${total - held} states checked in `);
  expect(again.stdout).toContain(`(${held} more already judged in the store, skipped)`);
  expect(JSON.parse(readFileSync(json, 'utf8'))).toEqual(plain.json);
  expectStateForState([store], plain);
  expect(leftovers()).toEqual([]);
}

describe.skipIf(why !== undefined)(`a campaign through the CLI${why ? ` (skipped: ${why})` : ''}`, () => {
  it('Ctrl-C (SIGINT to the process group) stops pnpm fuzz --check --store, leaves nothing, and the same command resumes to the uninterrupted report', async () => {
    await interruptAndResume('SIGINT', true, 'sigint');
  }, 400_000);

  it('SIGTERM to the top process only stops pnpm fuzz --check --store, leaves nothing, and the same command resumes to the uninterrupted report', async () => {
    await interruptAndResume('SIGTERM', false, 'sigterm');
  }, 400_000);

  it('pnpm fuzz --check --shard i/4 --store Si for i = 0..3, then pnpm fuzz merge S0..S3 --json, equals the unsharded run', async () => {
    const plain = await plainRun();
    const stores = [0, 1, 2, 3].map((i) => join(work, `shard-${i}`));
    for (const [i, store] of stores.entries()) {
      const r = await fuzz(['--check', REC, '--jobs', '2', '--shard', `${i}/4`, '--store', store]);
      expect(r.exitCode, r.all).toBe(0);
      expect(r.stdout).toContain(`[shard ${i}/4]`);
    }
    const json = join(work, 'merged.json');
    const merged = await fuzz(['merge', ...stores, '--json', json]);
    expect(merged.exitCode, merged.all).toBe(0);
    expect(merged.stdout).toContain('merged from 4 store(s): shards 0/4, 1/4, 2/4, 3/4');
    expect(JSON.parse(readFileSync(json, 'utf8'))).toEqual(plain.json);
    expectStateForState(stores, plain);
    // Each shard judged its own states only: together exactly the enumeration, no state twice.
    const counts = stores.map((s) => stored(s).results.size);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(plain.store.states.length);
    // Three of four shards: refused, naming what is missing (exit 2, one line).
    const short = await fuzz(['merge', ...stores.slice(0, 3)]);
    expect(short.exitCode).toBe(2);
    expect(short.stderr.trim().split('\n')).toHaveLength(1);
    expect(short.stderr).toMatch(/states have no result in these stores \(shards found: 0\/4, 1\/4, 2\/4; first missing: /);
    expect(leftovers()).toEqual([]);
  }, 600_000);
});
