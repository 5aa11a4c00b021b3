import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../src/crash/plan/registry.js';
import { trialSpec } from '../../src/crash/record/mode.js';
import { specOf, workloadArb } from '../../src/crash/explore/fuzz-space.js';
import type { RunOptions } from '../../src/crash/options.js';
import { checkDmName, checkImageName } from '../../src/dm/index.js';
import { groupCommitApplies, STRATEGIES, SYNC_STRATEGIES } from '../../src/strategy/index.js';

// A recording's name becomes image file names (<name>-data.img, <name>-log.img) and part of a dm
// name: under group commit it once carried the `+` of `fdatasync+group`, which the image-name
// check refuses, so `crashtest --mode log-writes --group-commit` could not run at all.

function options(groupCommit: boolean): RunOptions {
  return {
    strategies: [...SYNC_STRATEGIES],
    groupCommit,
    scenarios: SCENARIOS,
    scenarioName: 'all',
    fs: 'ext4',
    trials: 4,
    seed: 7,
    onlyTrial: undefined,
    mode: 'log-writes',
    artifactsRoot: '/tmp/x',
    command: 'test',
    writerBundle: undefined,
  };
}

function expectUsableName(name: string): void {
  expect(() => checkImageName(`${name}-data.img`)).not.toThrow();
  expect(() => checkImageName(`${name}-log.img`)).not.toThrow();
  expect(() => checkDmName(`lw-1234-${name}`.slice(0, 60))).not.toThrow();
}

describe('recording names', () => {
  it.each([false, true])('log-writes trial specs (group commit %s) name images the lab accepts', (groupCommit) => {
    for (const strategy of groupCommit ? SYNC_STRATEGIES : STRATEGIES) {
      const spec = trialSpec(options(groupCommit), strategy, 3, SCENARIOS);
      expect(spec.groupCommit).toBe(groupCommit);
      expectUsableName(spec.name);
    }
  });

  it('the image-name check still refuses the label with a +', () => {
    expect(() => checkImageName('fdatasync+group-trial-0-data.img')).toThrow(/image name/);
  });

  it('fuzz draws group commit workloads, only for the strategies it applies to', () => {
    const drawn = fc.sample(workloadArb(STRATEGIES), { seed: 3, numRuns: 300 });
    expect(drawn.some((c) => c.groupCommit)).toBe(true);
    for (const c of drawn) if (c.groupCommit) expect(groupCommitApplies(c.strategy)).toBe(true);
    for (const c of drawn) expect(specOf(c, 'n', 'ext4').groupCommit).toBe(c.groupCommit);
  });
});
