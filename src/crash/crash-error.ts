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
  | 'VM_FAILED';

// A crash-harness problem that is not a WAL verdict: bad usage, environment, or a trial that could
// not be carried out. crashtest exits 2 for every one of them: no verdict was reached.
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
