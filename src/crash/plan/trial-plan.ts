import type { Strategy } from '../../workload/events.js';
import { deriveSeed, seededRandom } from '../../workload/seeded-random.js';
import type { Scenario, ScenarioStep, WorkloadShape } from './scenario.js';

/** Everything that decides one trial, derived from the run seed alone: saved with a violation. */
export interface TrialPlan {
  /** 0-based position in the run (per strategy). */
  index: number;
  runSeed: number;
  /** Seeds the scenario's choices and the writer's payloads. */
  trialSeed: number;
  strategy: Strategy;
  groupCommit: boolean;
  scenario: string;
  workload: WorkloadShape;
  steps: ScenarioStep[];
  freshFilesystemAfter: boolean;
  recordEntries: number | undefined;
}

// Trial i of run seed S is the same whatever the strategy, so the strategies of one run face the
// same sequence of crashes and their tables compare like for like.
export function trialSeed(runSeed: number, index: number): number {
  return deriveSeed(runSeed, 'trial', index);
}

/** The plan of trial `index`: scenarios are taken in turn from `scenarios`. */
export function planTrial(runSeed: number, index: number, strategy: Strategy, groupCommit: boolean, scenarios: readonly Scenario[]): TrialPlan {
  const scenario = scenarios[index % scenarios.length];
  if (scenario === undefined) throw new RangeError('planTrial needs at least one scenario');
  const seed = trialSeed(runSeed, index);
  const plan = scenario.plan(seededRandom(seed), { strategy, groupCommit });
  return {
    index,
    runSeed,
    trialSeed: seed,
    strategy,
    groupCommit,
    scenario: scenario.name,
    workload: plan.workload,
    steps: plan.steps,
    freshFilesystemAfter: plan.freshFilesystemAfter,
    recordEntries: plan.recordEntries,
  };
}
