import type { CrashMode } from './options.js';

// Which fault classes a run covered, from what it ran: each class is reached by a mode, a
// scenario, or both. A run prints the classes it reached and those it did not (a narrowed
// --mode or --scenario), so "held" always says against what.

export interface FaultClass {
  id: string;
  /** What the class is, for the report. */
  what: string;
  /** Whether a trial of this mode and scenario reaches the class. */
  reachedBy: (mode: CrashMode, scenario: string) => boolean;
}

export const FAULT_CLASSES: readonly FaultClass[] = [
  { id: 'power-cut', what: 'power cut under a live writer (dm-flakey drop_writes, remount)', reachedBy: (m) => m === 'flakey' },
  { id: 'write-errors', what: 'write errors until the device heals (fsync-failure)', reachedBy: (m, s) => m === 'flakey' && s === 'fsync-failure' },
  {
    id: 'transient-eio',
    what: 'a transient write error with working flushes, judged after the page cache is dropped (transient-eio)',
    reachedBy: (m, s) => m === 'flakey' && s === 'transient-eio',
  },
  { id: 'second-life-cut', what: 'recover, append more, power cut again (second-life)', reachedBy: (m, s) => m === 'flakey' && s === 'second-life' },
  {
    id: 'crash-states',
    what: 'every crash state of a recording: persistence points, subsets of cached writes, torn writes (dm-log-writes)',
    reachedBy: (m) => m === 'log-writes',
  },
  {
    id: 'second-life-states',
    what: 'a second life on crash states: recover, append, remount, recover again (dm-log-writes)',
    reachedBy: (m) => m === 'log-writes',
  },
  { id: 'rotation', what: 'segment rotation', reachedBy: (_m, s) => s === 'segment-rotation' || s === 'recycled-segment' },
  { id: 'recycling', what: 'recycled segments whose stale entries line up with new ones (recycled-segment)', reachedBy: (_m, s) => s === 'recycled-segment' },
  { id: 'truncate', what: 'power cut while truncate removes segments (truncate)', reachedBy: (_m, s) => s === 'truncate' || s === 'recycled-segment' },
  { id: 'busy-sync', what: 'appends during each of many syncs (busy-sync)', reachedBy: (_m, s) => s === 'busy-sync' },
];

export interface Coverage {
  covered: FaultClass['id'][];
  missing: FaultClass['id'][];
}

/** The classes reached by trials of these (mode, scenario) pairs. */
export function coverageOf(trials: Iterable<{ mode: CrashMode; scenario: string }>): Coverage {
  const list = [...trials];
  const covered = FAULT_CLASSES.filter((c) => list.some((t) => c.reachedBy(t.mode, t.scenario))).map((c) => c.id);
  return { covered, missing: FAULT_CLASSES.map((c) => c.id).filter((id) => !covered.includes(id)) };
}

/** The report lines of a coverage: one per class, covered first. */
export function formatCoverage(coverage: Coverage): string[] {
  const what = (id: string) => FAULT_CLASSES.find((c) => c.id === id)?.what ?? id;
  return [...coverage.covered.map((id) => `  covered      ${id}: ${what(id)}`), ...coverage.missing.map((id) => `  NOT covered  ${id}: ${what(id)}`)];
}
