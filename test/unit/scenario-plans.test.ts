import { describe, expect, it } from 'vitest';
import { entrySpan, SEGMENT_HEADER_BYTES, type ScenarioStep } from '../../src/crash/plan/scenario.js';
import { findScenario, SCENARIOS } from '../../src/crash/plan/registry.js';
import { planTrial } from '../../src/crash/plan/trial-plan.js';
import { STRATEGIES } from '../../src/workload/events.js';
import { seededRandom } from '../../src/workload/seeded-random.js';
import { parseWriterConfig, WRITER_DEFAULTS } from '../../src/workload/writer-config.js';

const SEEDS = Array.from({ length: 200 }, (_, i) => i * 7919 + 1);

describe('scenarios', () => {
  it('have unique kebab-case names and are found by name', () => {
    const names = SCENARIOS.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) {
      expect(name).toMatch(/^[a-z]+(-[a-z]+)*$/);
      expect(findScenario(name)?.name).toBe(name);
    }
    expect(names).toEqual(expect.arrayContaining(['random-cut', 'segment-rotation', 'truncate', 'fsync-failure']));
  });

  it.each(SCENARIOS.map((s) => [s.name, s] as const))('%s: plans are deterministic per seed and always a valid writer configuration', (_name, scenario) => {
    for (const seed of SEEDS) {
      const a = scenario.plan(seededRandom(seed), { strategy: 'fdatasync', groupCommit: false });
      const b = scenario.plan(seededRandom(seed), { strategy: 'fdatasync', groupCommit: false });
      expect(a).toEqual(b);
      // The writer must accept the workload the scenario chose, for every strategy.
      for (const strategy of STRATEGIES) expect(() => parseWriterConfig({ ...WRITER_DEFAULTS, ...a.workload, dir: '/x', strategy, seed })).not.toThrow();
      expect(a.steps.length).toBeGreaterThan(0);
      for (const step of a.steps) {
        if (step.kind === 'wait' && 'count' in step.until) expect(step.until.count).toBeGreaterThan(0);
        if (step.kind === 'pause') expect(step.ms).toBeGreaterThanOrEqual(0);
      }
    }
  });

  it('segment-rotation cuts within a few entries of a segment boundary', () => {
    const scenario = findScenario('segment-rotation')!;
    for (const seed of SEEDS) {
      const plan = scenario.plan(seededRandom(seed), { strategy: 'fsync', groupCommit: false });
      const step = plan.steps[0] as Extract<ScenarioStep, { kind: 'wait' }>;
      if (step.until.kind !== 'bytes') throw new Error('expected a bytes trigger');
      const usable = (plan.workload.segmentSize ?? 0) - SEGMENT_HEADER_BYTES;
      const nearest = Math.max(1, Math.round(step.until.bytes / usable)) * usable;
      expect(Math.abs(step.until.bytes - nearest)).toBeLessThanOrEqual(3 * entrySpan(plan.workload.maxPayload ?? 0));
    }
  });

  it('fsync-failure fails writes, waits for the failure, heals, and keeps the writer offering appends', () => {
    const plan = findScenario('fsync-failure')!.plan(seededRandom(1), { strategy: 'fsync', groupCommit: false });
    const kinds = plan.steps.map((s) => s.kind);
    expect(kinds.indexOf('fail-writes')).toBeLessThan(kinds.indexOf('heal'));
    const afterFail = plan.steps[kinds.indexOf('fail-writes') + 1];
    expect(afterFail).toMatchObject({ kind: 'wait', until: { kind: 'failed' } });
    expect(kinds[kinds.length - 1]).toBe('pause');
    expect(plan.workload.continueAfterFailure).toBe(true);
    expect(plan.freshFilesystemAfter).toBe(true);
  });

  it('truncate makes the writer truncate and cuts at a truncate', () => {
    const plan = findScenario('truncate')!.plan(seededRandom(2), { strategy: 'fsync', groupCommit: false });
    expect(plan.workload.truncateEvery).toBeGreaterThan(0);
    expect(plan.steps[0]).toMatchObject({ kind: 'wait', until: { kind: 'truncating' } });
  });
});

describe('scenarios that reach the missed bug classes', () => {
  it('recycled-segment: equal entries tile a segment, so stale and new boundaries line up; enough appends to recycle', () => {
    for (const seed of SEEDS) {
      const plan = findScenario('recycled-segment')!.plan(seededRandom(seed), { strategy: 'fdatasync', groupCommit: false });
      const w = plan.workload;
      expect(w.minPayload).toBe(w.maxPayload);
      const perSegment = (w.segmentSize! - SEGMENT_HEADER_BYTES) / entrySpan(w.maxPayload!);
      expect(Number.isInteger(perSegment)).toBe(true);
      // A truncate keeping at most 4 at least every 20 acks frees each segment before the third
      // one after it is needed: the recording runs into recycled files.
      expect(w.truncateKeep!).toBeLessThanOrEqual(4);
      expect(plan.recordEntries!).toBeGreaterThanOrEqual(5 * perSegment);
      const wait = plan.steps[0];
      expect(wait?.kind === 'wait' && wait.until.kind === 'appended' && wait.until.count > 3 * perSegment).toBe(true);
    }
  });

  it('busy-sync: several writers, a short period and hundreds of appends per recording where syncs batch', () => {
    const plan = findScenario('busy-sync')!.plan(seededRandom(1), { strategy: 'periodic', groupCommit: false });
    expect(plan.workload.writers!).toBeGreaterThanOrEqual(4);
    expect(plan.workload.periodMs!).toBeLessThanOrEqual(8);
    expect(plan.recordEntries!).toBeGreaterThanOrEqual(250);
    const perAppendSync = findScenario('busy-sync')!.plan(seededRandom(1), { strategy: 'fdatasync', groupCommit: false });
    expect(perAppendSync.recordEntries!).toBeLessThan(250);
  });

  it('transient-eio faults the WAL blocks, heals, and keeps the writer offering appends', () => {
    const plan = findScenario('transient-eio')!.plan(seededRandom(1), { strategy: 'fdatasync', groupCommit: false });
    expect(plan.steps.map((s) => s.kind)).toEqual(['wait', 'fail-wal-blocks', 'wait', 'pause', 'heal', 'pause']);
    expect(plan.workload.continueAfterFailure).toBe(true);
  });

  it('second-life restarts once between two waits', () => {
    const plan = findScenario('second-life')!.plan(seededRandom(1), { strategy: 'fdatasync', groupCommit: false });
    expect(plan.steps.filter((s) => s.kind === 'restart')).toHaveLength(1);
    expect(plan.steps.at(-1)?.kind).toBe('wait');
  });
});

describe('trial plans', () => {
  it('cycle through the selected scenarios and replay exactly from the run seed', () => {
    const n = 2 * SCENARIOS.length;
    const plans = Array.from({ length: n }, (_, i) => planTrial(99, i, 'fsync', false, SCENARIOS));
    expect(plans.map((p) => p.scenario)).toEqual([...SCENARIOS, ...SCENARIOS].map((s) => s.name));
    expect(Array.from({ length: n }, (_, i) => planTrial(99, i, 'fsync', false, SCENARIOS))).toEqual(plans);
    expect(planTrial(100, 0, 'fsync', false, SCENARIOS)).not.toEqual(plans[0]);
  });

  it('give every strategy of a run the same crashes', () => {
    const a = planTrial(5, 3, 'fsync', false, SCENARIOS);
    const b = planTrial(5, 3, 'none', false, SCENARIOS);
    expect({ ...b, strategy: 'fsync' }).toEqual(a);
  });
});
