import { selectTarget, type TargetSelection } from '../../targets/registry.js';
import type { TargetRun } from '../options.js';

/**
 * The selection a run (or one recording of it, `setting`) stands for: exec's commands and
 * promise, or a built-in target's settings. One place for the four modules that rebuild it from
 * what crossed into the microVM or was saved with a recording.
 */
export function selectionOf(run: TargetRun, setting?: string): TargetSelection {
  if (run.exec !== undefined) return selectTarget({ target: 'exec', ...run.exec });
  return selectTarget({ target: run.name, settings: setting ?? run.settings.join(',') });
}
