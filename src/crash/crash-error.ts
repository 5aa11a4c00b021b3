export type CrashErrorCode =
  | 'BAD_OPTION'
  | 'NOT_ROOT'
  | 'NO_DEVICE_MAPPER'
  | 'NOT_BUILT'
  | 'BUNDLE_FAILED'
  | 'WRITER_FAILED'
  | 'WRITER_STOP_TIMEOUT'
  | 'TRIAL_SETUP_FAILED'
  | 'BAD_ARTIFACT'
  | 'VM_FAILED'
  | 'MARK_FAILED'
  | 'RECORD_FAILED'
  | 'BAD_RECORDING'
  | 'CHECK_FAILED'
  | 'MISSING_TOOL';

// A crash-harness problem that is not a WAL verdict: bad usage, environment, a trial that could not
// be carried out, a recording that cannot be made or read, a crash state that could not be mounted.
// crashtest and fuzz exit 2 for every one of them: no verdict was reached.
export class CrashError extends Error {
  override readonly name = 'CrashError';
  constructor(
    readonly code: CrashErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
