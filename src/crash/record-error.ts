export type RecordErrorCode =
  | 'NOT_BUILT'
  | 'NO_DEVICE_MAPPER'
  | 'MARK_FAILED'
  | 'RECORD_FAILED'
  | 'BAD_RECORDING'
  | 'CHECK_FAILED'
  | 'BAD_OPTION';

// A problem recording a dm-log-writes run or checking its crash states that is not a WAL verdict:
// environment, a recording that cannot be read, a state that could not be mounted.
export class RecordError extends Error {
  override readonly name = 'RecordError';
  constructor(
    readonly code: RecordErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
