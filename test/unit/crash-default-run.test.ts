import { describe, expect, it } from 'vitest';
import { coverageOf, FAULT_CLASSES, formatCoverage } from '../../src/crash/coverage.js';
import { defaultPlan } from '../../src/crash/default-run.js';
import { findScenario, SCENARIOS } from '../../src/crash/plan/registry.js';
import { recordableScenarios } from '../../src/crash/plan/recordable.js';

describe('the default run', () => {
  it('makes both checks: every scenario as power cuts, the recordable ones as crash states, one trial each', () => {
    const plan = defaultPlan({ scenarios: SCENARIOS, scenarioName: 'all', seed: 1 });
    expect(plan.map((p) => p.check)).toEqual(['flakey', 'log-writes']);
    expect(plan[0]!.trials).toBe(SCENARIOS.length);
    const recorded = plan[1]!.scenarios.map((s) => s.name);
    expect(recorded).toEqual(expect.arrayContaining(['random-cut', 'segment-rotation', 'truncate', 'recycled-segment', 'busy-sync']));
    expect(recorded).not.toContain('fsync-failure');
    expect(recorded).not.toContain('transient-eio');
    expect(recorded).not.toContain('second-life');
    expect(plan[1]!.trials).toBe(recorded.length);
  });

  it('a scenario only power cuts can run makes a flakey-only plan; --trials sets both', () => {
    const only = [findScenario('transient-eio')!];
    expect(defaultPlan({ scenarios: only, scenarioName: 'transient-eio', seed: 1 }).map((p) => p.check)).toEqual(['flakey']);
    expect(() => recordableScenarios({ scenarios: only, scenarioName: 'transient-eio', seed: 1 })).toThrow(/only --mode flakey/);
    expect(defaultPlan({ scenarios: SCENARIOS, scenarioName: 'all', seed: 1, trials: 3 }).map((p) => p.trials)).toEqual([3, 3]);
  });

  it('covers every fault class when both checks run every scenario', () => {
    const plan = defaultPlan({ scenarios: SCENARIOS, scenarioName: 'all', seed: 1 });
    const trials = plan.flatMap((p) => p.scenarios.map((s) => ({ mode: p.check, scenario: s.name })));
    const coverage = coverageOf(trials);
    expect(coverage.missing).toEqual([]);
    expect(coverage.covered).toHaveLength(FAULT_CLASSES.length);
  });

  it('says what a narrowed run did not cover', () => {
    const coverage = coverageOf([{ mode: 'flakey', scenario: 'random-cut' }]);
    expect(coverage.covered).toEqual(['power-cut']);
    expect(coverage.missing).toContain('crash-states');
    expect(coverage.missing).toContain('transient-eio');
    expect(formatCoverage(coverage).some((l) => l.includes('NOT covered  crash-states'))).toBe(true);
  });
});

describe('defaultRunOptions (the self-test entry)', () => {
  it('is what crashtest --strategy S runs without --mode: every scenario, both checks', async () => {
    const { defaultRunOptions } = await import('../../src/crash/default-run.js');
    const o = defaultRunOptions('periodic', { seed: 9 });
    expect(o.scenarios).toBe(SCENARIOS);
    expect(o.command).toBe('sudo pnpm crashtest --strategy periodic --seed 9');
    expect(defaultPlan(o).map((p) => p.check)).toEqual(['flakey', 'log-writes']);
    expect(defaultRunOptions('fdatasync', { seed: 1, groupCommit: true }).groupCommit).toBe(true);
  });
});
