import { CrashError } from '../crash-error.js';
import type { RunOptions } from '../options.js';
import { changesDevice, type Scenario } from './scenario.js';
import { planTrial } from './trial-plan.js';

/**
 * The scenarios a dm-log-writes recording can run. Those that change the live device (a write
 * fault, a power cut and second life) have no meaning there: every moment is a crash state
 * already, and the second life is given on the host to states of every recording (check-states.ts).
 * Throws BAD_OPTION when none is left.
 */
export function recordableScenarios(options: Pick<RunOptions, 'scenarios' | 'scenarioName' | 'seed'>): Scenario[] {
  const usable = options.scenarios.filter((s) => !planTrial(options.seed, 0, 'fdatasync', false, [s]).steps.some(changesDevice));
  if (usable.length === 0) {
    throw new CrashError('BAD_OPTION', `scenario ${options.scenarioName} changes the live device: only --mode flakey can run it`);
  }
  return usable;
}
