import { fsyncFailure } from '../../../scenarios/fsync-failure.js';
import { randomCut } from '../../../scenarios/random-cut.js';
import { segmentRotation } from '../../../scenarios/segment-rotation.js';
import { truncate } from '../../../scenarios/truncate.js';
import type { Scenario } from './scenario.js';

/** Every scenario, in the order `--scenario all` cycles through them trial by trial. */
export const SCENARIOS: readonly Scenario[] = [randomCut, segmentRotation, truncate, fsyncFailure];

export const SCENARIO_NAMES: readonly string[] = SCENARIOS.map((s) => s.name);

/** The scenario called `name`, or undefined. */
export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
