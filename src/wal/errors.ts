// WalError: the one error class of the WAL family. Native failures arrive as plain Errors with
// code/errno/syscall/path/offset/seq properties (native/addon/errors.cc) and are re-wrapped here.

export type WalErrorCode =
  | 'WAL_CORRUPTION' // invalid data followed by valid entries (mid-log), or an unreadable header
  | 'WAL_IO' // a syscall failed (EIO and anything not classified below)
  | 'WAL_CLOSED' // the WAL (or this handle) is closed
  | 'WAL_INVALID_ARGUMENT' // bad option, payload, sequence or directory argument
  | 'WAL_NOT_FOUND' // missing directory, or a sequence truncated / never appended
  | 'WAL_FOREIGN_FILES' // the directory holds files that are not the WAL's
  | 'WAL_NO_SPACE' // ENOSPC / EDQUOT
  | 'WAL_FAILED' // an earlier write or sync failed: the WAL refuses writes until reopened
  | 'WAL_PERMISSION' // EACCES / EPERM / EROFS
  | 'WAL_LOCKED' // another handle (this or another process) has the directory open
  | 'WAL_OUT_OF_RANGE' // a sequence past Number.MAX_SAFE_INTEGER, or a first-seq record outside the log
  | 'WAL_READ_ONLY' // a write (append, truncate) through a WAL opened with readOnly
  | 'WAL_NATIVE_MISSING'; // the native addon is not built

const CODES: ReadonlySet<string> = new Set<WalErrorCode>([
  'WAL_CORRUPTION',
  'WAL_IO',
  'WAL_CLOSED',
  'WAL_INVALID_ARGUMENT',
  'WAL_NOT_FOUND',
  'WAL_FOREIGN_FILES',
  'WAL_NO_SPACE',
  'WAL_FAILED',
  'WAL_PERMISSION',
  'WAL_LOCKED',
  'WAL_OUT_OF_RANGE',
  'WAL_READ_ONLY',
  'WAL_NATIVE_MISSING',
]);

export interface WalErrorDetails {
  errno?: number;
  syscall?: string;
  /** File involved (corruption: the segment). */
  path?: string;
  /** Byte offset in `path` (corruption). */
  offset?: number;
  /** Sequence involved (corruption: the first one missing; failures: the append that failed). */
  seq?: number;
  cause?: unknown;
}

export class WalError extends Error {
  override readonly name = 'WalError';
  readonly code: WalErrorCode;
  declare readonly errno?: number;
  declare readonly syscall?: string;
  declare readonly path?: string;
  declare readonly offset?: number;
  declare readonly seq?: number;

  constructor(code: WalErrorCode, message: string, details: WalErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    if (details.errno !== undefined) this.errno = details.errno;
    if (details.syscall !== undefined) this.syscall = details.syscall;
    if (details.path !== undefined) this.path = details.path;
    if (details.offset !== undefined) this.offset = details.offset;
    if (details.seq !== undefined) this.seq = details.seq;
  }
}

interface NativeErrorShape {
  message?: unknown;
  code?: unknown;
  errno?: unknown;
  syscall?: unknown;
  path?: unknown;
  offset?: unknown;
  seq?: unknown;
}

// Turns whatever the addon threw or rejected with into a WalError. `site` (an Error created at the
// caller's call site, before the native call) donates its stack so the failure points at user code.
export function toWalError(err: unknown, site?: Error, overrides: { code?: WalErrorCode; seq?: number } = {}): WalError {
  if (err instanceof WalError && overrides.code === undefined && overrides.seq === undefined) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as NativeErrorShape;
  const rawCode = typeof e.code === 'string' && CODES.has(e.code) ? (e.code as WalErrorCode) : 'WAL_IO';
  const code = overrides.code ?? rawCode;
  const message = typeof e.message === 'string' ? e.message : String(err);
  const out = new WalError(code, message, {
    errno: typeof e.errno === 'number' ? e.errno : undefined,
    syscall: typeof e.syscall === 'string' ? e.syscall : undefined,
    path: typeof e.path === 'string' ? e.path : undefined,
    offset: typeof e.offset === 'number' ? e.offset : undefined,
    seq: overrides.seq ?? (typeof e.seq === 'number' ? e.seq : undefined),
    cause: err instanceof WalError ? err : undefined,
  });
  if (site?.stack !== undefined) {
    const frames = site.stack.split('\n').slice(1).join('\n');
    out.stack = `${out.name} [${out.code}]: ${out.message}\n${frames}`;
  }
  return out;
}
