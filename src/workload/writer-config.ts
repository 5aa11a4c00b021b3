import { groupCommitProblem } from '../strategy/index.js';
import { isStrategy, STRATEGIES, type Strategy } from './events.js';

/** The writer child writes its events to this file descriptor (a pipe the harness opens). */
export const EVENT_FD = 3;

/**
 * The writer child's exit statuses: finished, its seq prediction broke, bad configuration, and
 * the WAL failed to open or an unexpected error (a `failed` event says which).
 */
export const WRITER_EXIT = { done: 0, seqMismatch: 3, badConfig: 4, error: 5 } as const;

/** Everything the writer child process needs: passed to it as one JSON argument. */
export interface WriterConfig {
  /** The WAL directory (on the filesystem under test). */
  dir: string;
  strategy: Strategy;
  groupCommit: boolean;
  /** The periodic strategy's sync interval (ignored by the others). */
  periodMs: number;
  /** WAL segment size in bytes: small segments make rotation and truncate happen often. */
  segmentSize: number;
  preallocate: 'none' | 'fallocate' | 'zero';
  /** Payload sizes are uniform in [minPayload, maxPayload] bytes. */
  minPayload: number;
  maxPayload: number;
  /** Concurrent appenders (each awaits its own append before the next). */
  writers: number;
  /** Seeds the payload bytes and sizes. */
  seed: number;
  /** Stop after this many appends (the crash normally comes first). */
  maxEntries: number;
  /** Stop after this long, in ms, whatever the count. */
  maxMs: number;
  /** Every this many acknowledgements, truncate away all but `truncateKeep` acked entries; 0 = never. */
  truncateEvery: number;
  truncateKeep: number;
  /**
   * Keep appending after the WAL reported a failure (the fsync-failure scenario: any ack after a
   * failed sync is the fsyncgate bug). When false the writer stops at the first failure.
   */
  continueAfterFailure: boolean;
  /**
   * The strategy the `started` event claims; null = the one used. Only for showing that the
   * harness catches a WAL whose acknowledgements lie (run `none`, announce `fsync`): a check
   * that no run can fail proves nothing.
   */
  announceStrategy: Strategy | null;
}

export const WRITER_DEFAULTS: Omit<WriterConfig, 'dir' | 'strategy' | 'seed'> = {
  groupCommit: false,
  periodMs: 100,
  segmentSize: 256 * 1024,
  preallocate: 'zero',
  minPayload: 16,
  maxPayload: 2048,
  writers: 4,
  maxEntries: 1_000_000,
  maxMs: 60_000,
  truncateEvery: 0,
  truncateKeep: 64,
  continueAfterFailure: false,
  announceStrategy: null,
};

/** A writer configuration that is not valid: the message names the field. */
export class WriterConfigError extends Error {
  override readonly name = 'WriterConfigError';
  readonly code = 'WRITER_BAD_CONFIG' as const;
}

function int(obj: Record<string, unknown>, key: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new WriterConfigError(`${key} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return v;
}

function bool(obj: Record<string, unknown>, key: string): boolean {
  const v = obj[key];
  if (typeof v !== 'boolean') throw new WriterConfigError(`${key} must be a boolean, got ${JSON.stringify(v)}`);
  return v;
}

/** Validate a decoded JSON value as a complete writer configuration (defaults filled in first). */
export function parseWriterConfig(value: unknown): WriterConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new WriterConfigError('the writer configuration must be a JSON object');
  const obj: Record<string, unknown> = { ...WRITER_DEFAULTS, ...(value as Record<string, unknown>) };
  if (typeof obj.dir !== 'string' || obj.dir === '') throw new WriterConfigError('dir must be a non-empty path');
  if (!isStrategy(obj.strategy)) throw new WriterConfigError(`strategy must be one of ${STRATEGIES.join(', ')}, got ${JSON.stringify(obj.strategy)}`);
  const preallocate = obj.preallocate;
  if (preallocate !== 'none' && preallocate !== 'fallocate' && preallocate !== 'zero') {
    throw new WriterConfigError(`preallocate must be none, fallocate or zero, got ${JSON.stringify(preallocate)}`);
  }
  const announce = obj.announceStrategy;
  if (announce !== null && !isStrategy(announce)) throw new WriterConfigError(`announceStrategy must be a strategy or null, got ${JSON.stringify(announce)}`);
  const config: WriterConfig = {
    dir: obj.dir,
    strategy: obj.strategy,
    groupCommit: bool(obj, 'groupCommit'),
    periodMs: int(obj, 'periodMs', 1, 60_000),
    segmentSize: int(obj, 'segmentSize', 64 * 1024, 1 << 30),
    preallocate,
    minPayload: int(obj, 'minPayload', 0, 1 << 20),
    maxPayload: int(obj, 'maxPayload', 0, 1 << 20),
    writers: int(obj, 'writers', 1, 256),
    seed: int(obj, 'seed', 0),
    maxEntries: int(obj, 'maxEntries', 1),
    maxMs: int(obj, 'maxMs', 1),
    truncateEvery: int(obj, 'truncateEvery', 0),
    truncateKeep: int(obj, 'truncateKeep', 0),
    continueAfterFailure: bool(obj, 'continueAfterFailure'),
    announceStrategy: announce,
  };
  if (config.segmentSize % 4096 !== 0) throw new WriterConfigError(`segmentSize ${config.segmentSize} must be a multiple of 4096`);
  if (config.minPayload > config.maxPayload) throw new WriterConfigError(`minPayload ${config.minPayload} exceeds maxPayload ${config.maxPayload}`);
  // An entry larger than a segment can never be written: a configuration error, not a WAL verdict.
  if (config.maxPayload + 16 + 4096 > config.segmentSize) {
    throw new WriterConfigError(`maxPayload ${config.maxPayload} does not fit a ${config.segmentSize}-byte segment`);
  }
  const groupProblem = config.groupCommit ? groupCommitProblem([config.strategy]) : undefined;
  if (groupProblem !== undefined) throw new WriterConfigError(groupProblem);
  return config;
}
