import type { Strategy } from '../../strategy/index.js';

// What the driver (run.ts) and the WAL writer child (trace-writer.ts) share: the child's
// configuration and the marker paths that frame one commit in a syscall trace.

export interface TraceWriterConfig {
  dir: string;
  strategy: Strategy;
  groupCommit: boolean;
  commits: number;
  writers: number;
  payloadBytes: number;
  /** Segments small enough for the traced image; preallocated (zero-filled) as the WAL ships. */
  segmentSize: number;
  periodMs: number;
}

/** The stat path that frames commit `i` of writer 0 in a syscall trace. */
export function commitMarkPath(edge: 'begin' | 'end', i: number): string {
  return `/powercut-commit-${edge}-${i}`;
}
