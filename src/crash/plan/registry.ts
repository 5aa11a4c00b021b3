import { fsyncFailure } from '../../../scenarios/fsync-failure.js';
import { randomCut } from '../../../scenarios/random-cut.js';
import { segmentRotation } from '../../../scenarios/segment-rotation.js';
import { truncate } from '../../../scenarios/truncate.js';
import { transientEio } from '../../../scenarios/transient-eio.js';
import { recycledSegment } from '../../../scenarios/recycled-segment.js';
import { busySync } from '../../../scenarios/busy-sync.js';
import { secondLife } from '../../../scenarios/second-life.js';
import type { Scenario } from './scenario.js';

/** Every scenario, in the order `--scenario all` cycles through them trial by trial. */
export const SCENARIOS: readonly Scenario[] = [randomCut, segmentRotation, truncate, fsyncFailure, transientEio, recycledSegment, busySync, secondLife];

export const SCENARIO_NAMES: readonly string[] = SCENARIOS.map((s) => s.name);

/** The scenario called `name`, or undefined. */
export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
