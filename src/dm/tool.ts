import { run, RunError, type RunOptions, type RunResult } from '../run.js';
import { DeviceError } from './device-error.js';

// Runs one block-device tool through the shared run helper and turns its failure into a
// DeviceError('TOOL_FAILED') that keeps the tool's stderr in the message and the RunError as cause.
export async function runTool(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  try {
    return await run(command, args, options);
  } catch (err) {
    if (err instanceof RunError) throw new DeviceError('TOOL_FAILED', err.message, { cause: err });
    throw err;
  }
}
