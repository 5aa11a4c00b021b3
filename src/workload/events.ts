import { createHash } from 'node:crypto';
import { writeSync } from 'node:fs';
import { isStrategy, STRATEGIES, SYNC_STRATEGIES, type Strategy } from '../strategy/index.js';

// The event protocol between the writer child process and the crash harness.
//
// One JSON object per line, written with fs.writeSync straight to a file descriptor (a pipe or a
// file): the writer is killed with SIGKILL at the crash, and anything sitting in a userspace buffer
// at that moment would be lost, so every event is on its way to the kernel before the writer moves
// on. The harness reads the stream after (or while) the writer dies, so the last line may be torn
// mid-write: the parser tolerates exactly that and nothing else.
//
// Ordering rules the writer must keep, because the oracle relies on them:
// - `appended` is written BEFORE the entry can reach the disk (before calling append()), so every
//   entry recovery may find has a recorded digest. A recovered seq without one is "never appended".
// - `acked` is written after append() resolved, `durable` after the WAL published its watermark.
// - `truncating` is written BEFORE calling truncate(), `truncated` after it resolved: a crash in the
//   middle of a truncate may already have removed old segments.

// The strategies and their facts live in src/strategy; re-exported here for the event protocol's users.
export { isStrategy, STRATEGIES, type Strategy };
/** Strategies whose acknowledgement means "durable" (src/strategy: the oracle's contract). */
export const DURABLE_ACK_STRATEGIES: readonly Strategy[] = SYNC_STRATEGIES;

/** The writer started: what it runs, so a history is self-describing. */
export interface StartedEvent {
  type: 'started';
  strategy: Strategy;
  groupCommit: boolean;
  /** The periodic strategy's sync interval; null for every other strategy. */
  periodMs: number | null;
  pid: number;
  /** Free-form workload description (payload sizes, writers, segment size, seed...). */
  workload?: Record<string, unknown>;
  t?: number;
}

/** An entry is about to be appended under `seq`. */
export interface AppendedEvent {
  type: 'appended';
  seq: number;
  /** sha256 of the payload, lowercase hex (64 characters): see payloadDigest. */
  digest: string;
  size: number;
  t?: number;
}

/** append() resolved for `seq`: what the caller was promised (meaning depends on the strategy). */
export interface AckedEvent {
  type: 'acked';
  seq: number;
  t?: number;
}

/** The WAL published a durable watermark: every seq <= `seq` is on stable storage. */
export interface DurableEvent {
  type: 'durable';
  seq: number;
  t?: number;
}

/** An append (seq given) or the WAL as a whole (no seq) failed. */
export interface FailedEvent {
  type: 'failed';
  seq?: number;
  code: string;
  message: string;
  t?: number;
}

/** truncate(beforeSeq) is about to be called: entries below beforeSeq may disappear from now on. */
export interface TruncatingEvent {
  type: 'truncating';
  beforeSeq: number;
  t?: number;
}

/** truncate(beforeSeq) resolved. */
export interface TruncatedEvent {
  type: 'truncated';
  beforeSeq: number;
  t?: number;
}

export type WorkloadEvent = StartedEvent | AppendedEvent | AckedEvent | DurableEvent | FailedEvent | TruncatingEvent | TruncatedEvent;

// Recording with dm-log-writes ties the history to the log: after writing an `acked`, `durable`,
// `truncating` or `truncated` event the writer sends a mark with this label to the log-writes target. A crash state
// then knows which promises had been made before the power went (src/oracle/history-at-crash.ts).
// Labels have no spaces (dmsetup message splits on them) and stay far below the 479-byte limit.

/** The dm-log-writes mark label for an event that makes a promise, or null for other events. */
export function markLabel(event: WorkloadEvent): string | null {
  switch (event.type) {
    case 'acked':
      return `ack-${event.seq}`;
    case 'durable':
      return `durable-${event.seq}`;
    case 'truncating':
      return `truncating-${event.beforeSeq}`;
    case 'truncated':
      return `truncated-${event.beforeSeq}`;
    default:
      return null;
  }
}

export type EventErrorCode = 'EVENT_MALFORMED_JSON' | 'EVENT_INVALID' | 'EVENT_WRITE_FAILED';

/** Any problem with the event stream: a line that is not an event, or a write that failed. */
export class EventError extends Error {
  override readonly name = 'EventError';
  constructor(
    readonly code: EventErrorCode,
    message: string,
    /** 1-based line number in the stream, when the error is about one line. */
    readonly line?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// Digest choice: full sha256, hex. The oracle's integrity check must never call a corrupted
// payload intact, and a short (say 64-bit) hash would make that merely unlikely rather than
// impossible in practice. The cost is ~64 bytes per appended line on a pipe and a hash OpenSSL
// computes at >1 GB/s, both negligible next to one fsync. Hex keeps the stream plain JSON text.
/** The digest recorded in `appended` events and compared by the oracle. */
export function payloadDigest(payload: Uint8Array): string {
  return createHash('sha256').update(payload).digest('hex');
}

const DIGEST_RE = /^[0-9a-f]{64}$/;

/** Serialise one event as its protocol line (JSON plus a newline). */
export function formatEvent(event: WorkloadEvent): string {
  return `${JSON.stringify(event)}\n`;
}

/**
 * Write one event synchronously to `fd` (the writer's stdout pipe or an event file). A partial
 * write is continued until the whole line is out, because a pipe may accept less than asked.
 */
export function writeEvent(fd: number, event: WorkloadEvent): void {
  const bytes = Buffer.from(formatEvent(event), 'utf8');
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(fd, bytes, offset, bytes.length - offset);
    } catch (error) {
      // EAGAIN: a non-blocking pipe is full; spinning is acceptable because the reader is the
      // harness, which drains continuously, and losing the event is not.
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      throw new EventError('EVENT_WRITE_FAILED', `cannot write ${event.type} event: ${(error as Error).message}`, undefined, { cause: error });
    }
  }
}

function isSeq(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function optionalTime(obj: Record<string, unknown>): { t?: number } {
  if (obj.t === undefined) return {};
  if (typeof obj.t !== 'number' || !Number.isFinite(obj.t)) throw new Error('t must be a finite number');
  return { t: obj.t };
}

function requireSeq(obj: Record<string, unknown>, key: string): number {
  const value = obj[key];
  if (!isSeq(value)) throw new Error(`${key} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return value;
}

/** Validate one decoded JSON value as an event; throws a plain Error describing the first problem. */
function toEvent(value: unknown): WorkloadEvent {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
  const obj = value as Record<string, unknown>;
  switch (obj.type) {
    case 'started': {
      if (!isStrategy(obj.strategy)) throw new Error(`strategy must be one of ${STRATEGIES.join(', ')}, got ${JSON.stringify(obj.strategy)}`);
      if (typeof obj.groupCommit !== 'boolean') throw new Error('groupCommit must be a boolean');
      const periodMs = obj.periodMs ?? null;
      if (periodMs !== null && (typeof periodMs !== 'number' || !(periodMs > 0))) throw new Error('periodMs must be a positive number or null');
      if (obj.strategy === 'periodic' && periodMs === null) throw new Error('periodic strategy needs periodMs');
      if (!isSeq(obj.pid)) throw new Error('pid must be a non-negative integer');
      const workload = obj.workload;
      if (workload !== undefined && (typeof workload !== 'object' || workload === null || Array.isArray(workload)))
        throw new Error('workload must be an object');
      return {
        type: 'started',
        strategy: obj.strategy,
        groupCommit: obj.groupCommit,
        periodMs: periodMs,
        pid: obj.pid,
        ...(workload !== undefined ? { workload: workload as Record<string, unknown> } : {}),
        ...optionalTime(obj),
      };
    }
    case 'appended': {
      const seq = requireSeq(obj, 'seq');
      if (typeof obj.digest !== 'string' || !DIGEST_RE.test(obj.digest)) throw new Error('digest must be 64 lowercase hex characters (sha256)');
      if (!isSeq(obj.size)) throw new Error('size must be a non-negative integer');
      return { type: 'appended', seq, digest: obj.digest, size: obj.size, ...optionalTime(obj) };
    }
    case 'acked':
    case 'durable':
      return { type: obj.type, seq: requireSeq(obj, 'seq'), ...optionalTime(obj) };
    case 'truncating':
    case 'truncated':
      return { type: obj.type, beforeSeq: requireSeq(obj, 'beforeSeq'), ...optionalTime(obj) };
    case 'failed': {
      if (typeof obj.code !== 'string' || obj.code === '') throw new Error('code must be a non-empty string');
      if (typeof obj.message !== 'string') throw new Error('message must be a string');
      const seq = obj.seq === undefined ? {} : { seq: requireSeq(obj, 'seq') };
      return { type: 'failed', ...seq, code: obj.code, message: obj.message, ...optionalTime(obj) };
    }
    default:
      throw new Error(`unknown event type ${JSON.stringify(obj.type)}`);
  }
}

/** What parseEvents found: the events, and whether the stream ended in a torn (discarded) line. */
export interface ParsedEvents {
  events: WorkloadEvent[];
  /** The bytes of an unterminated final line that was not a complete event (killed mid-write). */
  tornTail: string | null;
}

/**
 * Parse an event stream. Every newline-terminated line must be a valid event (blank lines are
 * ignored); otherwise an EventError names the line. The final line, when it has no newline, is
 * accepted if it is a complete valid event and otherwise reported as `tornTail` instead of failing:
 * writeSync of one line can be cut by SIGKILL only at the very end of the stream.
 */
export function parseEvents(text: string): ParsedEvents {
  const lines = text.split('\n');
  // split() leaves '' after a final newline; anything else in the last slot is unterminated.
  const last = lines.pop() ?? '';
  const events: WorkloadEvent[] = [];
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    events.push(parseLine(line, index + 1));
  });
  if (last.trim() === '') return { events, tornTail: null };
  try {
    events.push(parseLine(last, lines.length + 1));
    return { events, tornTail: null };
  } catch {
    return { events, tornTail: last };
  }
}

function parseLine(line: string, lineNumber: number): WorkloadEvent {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new EventError('EVENT_MALFORMED_JSON', `event line ${lineNumber} is not JSON: ${truncate(line)}`, lineNumber, { cause: error });
  }
  try {
    return toEvent(value);
  } catch (error) {
    throw new EventError('EVENT_INVALID', `event line ${lineNumber} is not a valid event (${(error as Error).message}): ${truncate(line)}`, lineNumber, {
      cause: error,
    });
  }
}

function truncate(line: string): string {
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}
