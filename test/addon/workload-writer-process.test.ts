import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleCrashtest, removeBundles, useAddonSnapshot, type Bundles } from '../../src/crash/bundle.js';
import { recoverWal } from '../../src/crash/writer/recover.js';
import { WriterChild } from '../../src/crash/writer/child.js';
import { judgeCrash } from '../../src/oracle/index.js';
import { parseEvents, type Strategy, type WorkloadEvent } from '../../src/workload/events.js';
import { parseWriterConfig, WRITER_EXIT, type WriterConfig } from '../../src/workload/writer-config.js';

// The real writer process against the real WAL, on this machine's filesystem. No power cut here
// (that needs device-mapper: test/integration), so a process kill must lose nothing acknowledged
// under ANY strategy: the page cache survives the process. That pins the writer's event stream,
// its seq prediction and the recovery path the crash trials rely on.

const addon = path.resolve('native/build/Release/powercut_wal.node');
const why = existsSync(addon) ? undefined : `the WAL addon is not built (${addon})`;

let bundles: Bundles;
let restoreEnv = (): void => {};
let work: string;

function config(strategy: Strategy, extra: Partial<WriterConfig> = {}): WriterConfig {
  const dir = mkdtempSync(path.join(work, `${strategy}-`));
  return parseWriterConfig({ dir, strategy, seed: 5, writers: 3, maxPayload: 512, maxMs: 30_000, ...extra });
}

/** The stream rules the oracle relies on. */
function checkStream(events: WorkloadEvent[]): void {
  expect(events[0]?.type).toBe('started');
  const appended = new Map<number, string>();
  let last = 0;
  for (const e of events) {
    if (e.type === 'appended') {
      const before = appended.get(e.seq);
      if (before === undefined) {
        expect(e.seq).toBeGreaterThan(last);
        last = e.seq;
      } else {
        expect(e.digest).toBe(before);
      }
      appended.set(e.seq, e.digest);
    }
    if (e.type === 'acked') expect(appended.has(e.seq)).toBe(true);
  }
}

describe.skipIf(why !== undefined)(`writer process${why ? ` (skipped: ${why})` : ''}`, () => {
  beforeAll(async () => {
    bundles = await bundleCrashtest();
    restoreEnv = useAddonSnapshot(bundles);
    work = mkdtempSync(path.join(tmpdir(), 'powercut-writer-test-'));
  });
  afterAll(() => {
    restoreEnv();
    if (bundles) removeBundles(bundles);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const cases: [Strategy, boolean][] = [
    ['fsync', false],
    ['fdatasync', false],
    ['dsync', false],
    ['direct', false],
    ['periodic', false],
    ['none', false],
    ['fdatasync', true],
  ];

  it.each(cases)('%s (group commit %s): a finished run is recovered whole and judged held', async (strategy, groupCommit) => {
    const cfg = config(strategy, { groupCommit, maxEntries: 120 });
    const child = WriterChild.spawn(bundles.writer, cfg);
    await child.ended();
    expect(child.exited?.code).toBe(WRITER_EXIT.done);
    const { events, tornTail } = parseEvents(child.rawEvents);
    expect(tornTail).toBeNull();
    checkStream(events);
    expect(events.filter((e) => e.type === 'acked')).toHaveLength(120);
    const recovery = await recoverWal(cfg.dir, { strategy, segmentSize: cfg.segmentSize });
    expect(recovery.status).toBe('recovered');
    if (recovery.status !== 'recovered') return;
    expect(recovery.entries.map((e) => e.seq)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    const verdict = judgeCrash({ history: events, recovered: recovery.entries });
    expect(verdict.status).toBe('held');
    expect(verdict.loss.lost).toBe(0);
  });

  it.each(['fdatasync', 'none', 'periodic'] as Strategy[])(
    '%s: frozen, the writer emits nothing more; killed, nothing acknowledged is lost',
    async (strategy) => {
      const cfg = config(strategy);
      const child = WriterChild.spawn(bundles.writer, cfg);
      expect(await child.waitFor({ kind: 'appended', count: 60 }, 20_000)).toBe('reached');
      await child.freeze();
      expect(readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]?.[0]).toMatch(/[tT]/);
      // What the writer wrote before it stopped may still be in the pipe: let it drain, then
      // nothing more may come while it is stopped.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const frozenAt = child.rawEvents.length;
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(child.rawEvents.length).toBe(frozenAt);
      const raw = await child.kill();
      expect(child.exited?.signal).toBe('SIGKILL');
      const events = parseEvents(raw).events;
      checkStream(events);
      const recovery = await recoverWal(cfg.dir, { strategy, segmentSize: cfg.segmentSize });
      expect(recovery.status).toBe('recovered');
      if (recovery.status !== 'recovered') return;
      const verdict = judgeCrash({ history: events, recovered: recovery.entries });
      expect(verdict.status).toBe('held');
      expect(verdict.loss.ackedButLost).toBe(0);
      expect(verdict.loss.acked).toBeGreaterThan(0);
    },
  );

  it('truncates as configured and stays judgeable across the truncation floor', async () => {
    const cfg = config('fdatasync', { segmentSize: 64 * 1024, minPayload: 1000, maxPayload: 2000, truncateEvery: 10, truncateKeep: 5, maxEntries: 300 });
    const child = WriterChild.spawn(bundles.writer, cfg);
    await child.ended();
    const events = parseEvents(child.rawEvents).events;
    const truncated = events.filter((e) => e.type === 'truncated');
    expect(truncated.length).toBeGreaterThan(5);
    const recovery = await recoverWal(cfg.dir, { strategy: 'fdatasync', segmentSize: cfg.segmentSize });
    if (recovery.status !== 'recovered') throw new Error(`recovery failed: ${recovery.message}`);
    expect(recovery.stats.firstSeq).toBeGreaterThan(1);
    const verdict = judgeCrash({ history: events, recovered: recovery.entries });
    expect(verdict.status).toBe('held');
    expect(verdict.loss.truncatedAway).toBeGreaterThan(0);
  });

  it('exits with the bad-configuration status, not a stack trace, on a bad configuration', async () => {
    const child = WriterChild.spawn(bundles.writer, { ...config('fsync'), writers: 0 });
    await child.ended();
    expect(child.exited?.code).toBe(WRITER_EXIT.badConfig);
    expect(child.stderr).toMatch(/writers must be an integer/);
    expect(child.stderr).not.toMatch(/\n\s+at /);
  });

  it('an idle writer loads first, then runs the configuration it is handed on stdin', async () => {
    const idle = WriterChild.spawnIdle(bundles.writer);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(idle.exited).toBeUndefined();
    expect(idle.rawEvents).toBe('');
    const cfg = config('fsync', { maxEntries: 30 });
    expect(idle.start(cfg)).toBe(true);
    await idle.ended();
    expect(idle.exited?.code).toBe(WRITER_EXIT.done);
    const events = parseEvents(idle.rawEvents).events;
    checkStream(events);
    expect(events.filter((e) => e.type === 'acked')).toHaveLength(30);
    // An idle writer that is never used dies with its SIGKILL and says nothing.
    const unused = WriterChild.spawnIdle(bundles.writer);
    expect(await unused.kill()).toBe('');
    expect(unused.exited?.signal).toBe('SIGKILL');
    expect(unused.start(cfg)).toBe(false);
  });
});
