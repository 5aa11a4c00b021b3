import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFlakeyMode } from '../../src/crash/flakey/mode.js';
import type { Reporter } from '../../src/crash/reporter.js';
import type { TrialOutcome, WalTrialOutcome } from '../../src/crash/outcome.js';
import type { RunOptions } from '../../src/crash/options.js';
import type { RunResults } from '../../src/crash/results.js';
import { recheck } from '../../src/crash/recheck.js';
import type { Scenario } from '../../src/crash/plan/scenario.js';
import { findScenario } from '../../src/crash/plan/registry.js';
import type { Strategy } from '../../src/workload/events.js';
import { dmUnavailable } from './dm-precondition.js';

// Real power cuts (dm-flakey, suspend --nolockfs + drop_writes) on a real WAL, judged by the
// oracle: the contract table of ARCHITECTURE.md, shown. Kept to 14 trials (a few minutes under
// TCG): the default `crashtest` run covers more scenarios per strategy.

const why = await dmUnavailable(['flakey']);
let artifacts = '';

class Collect implements Reporter {
  readonly lines: TrialOutcome[] = [];
  begin(): void {}
  trial(line: TrialOutcome): void {
    this.lines.push(line);
  }
  note(): void {}
  end(): void {}
}

function options(strategies: Strategy[], scenarios: string[], trials: number, groupCommit = false): RunOptions {
  return {
    strategies,
    groupCommit,
    scenarios: scenarios.map((name) => findScenario(name)!),
    scenarioName: scenarios.join('+'),
    fs: 'ext4',
    trials,
    seed: 20261122,
    onlyTrial: undefined,
    mode: 'flakey',
    artifactsRoot: artifacts,
    command: 'test/integration/crashtest-contract.test.ts',
    writerBundle: undefined,
  };
}

function describeViolations(results: RunResults<WalTrialOutcome>): string {
  return results.trials
    .filter((t) => t.status === 'violated')
    .map((t) => `${t.strategy} trial ${t.index} ${t.scenario}: ${t.reasons.join('; ')} (artifacts ${t.artifactDir})`)
    .join('\n');
}

describe.skipIf(why !== undefined)(`crashtest on dm-flakey${why ? ` (skipped: ${why})` : ''}`, () => {
  beforeAll(() => {
    artifacts = mkdtempSync(path.join(tmpdir(), 'powercut-crashtest-it-'));
  });
  afterAll(() => rmSync(artifacts, { recursive: true, force: true }));

  it('fsync, fdatasync, dsync and direct lose no acknowledged entry, and never acknowledge after a failed sync', async () => {
    // fsync-failure ends in a power cut too: it checks both promises in one trial per strategy.
    const results = await runFlakeyMode(options(['fsync', 'fdatasync', 'dsync', 'direct'], ['fsync-failure'], 1), new Collect(), true);
    expect(describeViolations(results)).toBe('');
    expect(results.trials).toHaveLength(4);
    for (const t of results.trials) {
      expect(t.verdict.loss.ackedButLost).toBe(0);
      expect(t.verdict.checks.acknowledgement.status).toBe('held');
      expect(t.verdict.loss.acked).toBeGreaterThan(0);
      // The failure was real: the WAL saw its writes fail.
      expect(t.notes.join(' ')).toMatch(/the WAL reported WAL_IO/);
    }
    expect(results.verdict).toBe('held');
  }, 600_000);

  it('group commit (over fdatasync) loses no acknowledged entry', async () => {
    const results = await runFlakeyMode(options(['fdatasync'], ['random-cut', 'fsync-failure'], 2, true), new Collect(), true);
    expect(describeViolations(results)).toBe('');
    for (const t of results.trials) expect(t.verdict.loss.ackedButLost).toBe(0);
    expect(results.rows.at(-1)).toMatchObject({ strategy: 'fdatasync+group', verdict: 'held' });
  }, 300_000);

  it('periodic loses only after its last durable watermark; none loses data: the crash is real', async () => {
    const results = await runFlakeyMode(options(['periodic', 'none'], ['random-cut'], 3), new Collect(), true);
    expect(describeViolations(results)).toBe('');
    const periodic = results.trials.filter((t) => t.strategy === 'periodic');
    const none = results.trials.filter((t) => t.strategy === 'none');
    for (const t of periodic) {
      expect(t.verdict.loss.lostBeyondContract).toBe(0);
      expect(t.verdict.loss.lostAfterWatermark).toBe(t.verdict.loss.lost);
    }
    expect(periodic.some((t) => t.verdict.loss.lost > 0)).toBe(true);
    expect(none.some((t) => t.verdict.loss.lost > 0)).toBe(true);
    expect(results.rows.map((r) => r.verdict)).toEqual(['held', 'held']);
  }, 400_000);

  it('catches a WAL whose acknowledgements lie (none announced as fsync): violated, artifacts saved, recheck agrees', async () => {
    // The harness must be able to fail: same power cut, a writer that claims fsync but runs none.
    const liar: Scenario = {
      name: 'lying-ack',
      summary: 'none announced as fsync',
      plan: (random) => ({
        workload: { announceStrategy: 'fsync', writers: 2 },
        steps: [{ kind: 'wait', until: { kind: 'appended', count: random.int(40, 80) } }],
        freshFilesystemAfter: false,
      }),
    };
    const results = await runFlakeyMode({ ...options(['none'], ['random-cut'], 2), scenarios: [liar], scenarioName: 'lying-ack' }, new Collect(), true);
    expect(results.verdict).toBe('violated');
    const violated = results.trials.filter((t) => t.status === 'violated');
    expect(violated.length).toBeGreaterThan(0);
    for (const t of violated) {
      expect(t.verdict.loss.ackedButLost).toBeGreaterThan(0);
      expect(t.reasons.join(' ')).toMatch(/durability: \d+ required entries missing/);
      const again = await recheck(t.artifactDir!);
      expect(again.status).toBe('violated');
      expect(again.matchesSavedList).toBe(true);
    }
  }, 300_000);
});
