import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FsVariantName } from '../../dm/index.js';
import { judgeTarget, type AckRecord, type CheckReport, type TargetVerdict } from '../../oracle/target-verdict.js';
import type { Contract } from '../../targets/contract.js';
import type { LogFacts } from '../record/session.js';
import type { TargetRun } from '../options.js';
import { CrashError } from '../crash-error.js';

// A dm-log-writes recording of a target's program (issue 14), as the recorder writes it in the
// microVM (record.ts) and the host reads it to check every crash state (check-states.ts):
//   DIR/log.bin.gz    the dm-log-writes log: mkfs, the mark `mkfs`, prepare and its sync, the mark
//                     `prepared` (crash states start after it), the program with the mark ack-<n>
//                     after its n-th acknowledgement (0-based), umount, the mark `end`
//   DIR/history.json  the program's acknowledgements (with the time the harness read each) and
//                     announced operations, in the order of its fd-3 lines
//   DIR/lines.txt     the fd-3 lines, verbatim
//   DIR/meta.json     TargetRecordingMeta

/** What to record: one trial of one setting of a target. */
export interface TargetRecordSpec {
  kind: 'target';
  /** Directory name under the output root. */
  name: string;
  /** The target and this one setting (exec: the commands and the promise). */
  target: TargetRun & { setting: string };
  fs: FsVariantName;
  imageBytes?: number;
  /** The trial seed (the workload of a built-in target is a function of it). */
  seed: number;
  /** Acknowledgements to record: the program is stopped after this many (and minSpanMs). */
  acks: number;
  /** The acknowledgements also span at least this long, first to last (a window promise's recording). */
  minSpanMs?: number;
}

export interface TargetHistory {
  acks: AckRecord[];
  intents: { key: string; digest: string }[];
}

export interface TargetRecordingMeta extends LogFacts {
  format: 'powercut-target-recording-v1';
  spec: TargetRecordSpec;
  /** The data directory relative to the filesystem's root ($POWERCUT_DATA in the recording). */
  dataDir: string;
  /** The commands as shown (the built-in ones name the bundled program). */
  commands: { run: string; check: string };
  /** How the program ended (killed by the recorder after the last acknowledgement, unless it ended first). */
  programExit: { code: number | null; signal: string | null };
  programStderr: string;
  /** Why the recording has fewer acknowledgements than asked (the program ended or stalled), else null. */
  shortBecause: string | null;
  recordedAt: string;
  durationMs: number;
}

/** The mark after the program's `n`-th acknowledgement (0-based), and back. */
export function ackMark(n: number): string {
  return `ack-${n}`;
}

const ACK_MARK = /^ack-(\d+)$/;

/** How many acknowledgements the visible marks show (they enter the log in order: the highest + 1). */
export function acksVisible(marks: readonly string[]): number {
  let seen = 0;
  for (const m of marks) {
    const match = ACK_MARK.exec(m);
    if (match !== null) seen = Math.max(seen, Number(match[1]) + 1);
  }
  return seen;
}

/**
 * The verdict of one crash state: only the acknowledgements whose marks the state shows are
 * required (as the contract says), and a survivor is a phantom only if no operation of the whole
 * recording wrote it (one after the last visible mark may have reached the disk before the crash
 * moment). The cut is taken at the last visible acknowledgement, the earliest the crash can be,
 * so a window promise requires no more than it must.
 */
export function judgeTargetState(history: TargetHistory, marks: readonly string[], contract: Contract, check: CheckReport): TargetVerdict {
  const acks = history.acks.slice(0, acksVisible(marks));
  const cutAtMs = acks[acks.length - 1]?.atMs ?? 0;
  return judgeTarget({ acks, intents: history.intents, cutAtMs, contract, check });
}

/** The mark after which crash states of a target recording start: prepare's data is durable. */
export const PREPARED_MARK = 'prepared';

export function readTargetRecording(dir: string): { meta: TargetRecordingMeta; history: TargetHistory } {
  let meta: TargetRecordingMeta;
  let history: TargetHistory;
  try {
    meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as TargetRecordingMeta;
    history = JSON.parse(readFileSync(path.join(dir, 'history.json'), 'utf8')) as TargetHistory;
  } catch (cause) {
    throw new CrashError('BAD_RECORDING', `${dir} is not a target recording (${(cause as Error).message})`, { cause });
  }
  if (meta.format !== 'powercut-target-recording-v1' || meta.spec?.kind !== 'target' || !Array.isArray(history.acks) || !Array.isArray(history.intents))
    throw new CrashError('BAD_RECORDING', `${dir}/meta.json is not a powercut-target-recording-v1 file`);
  return { meta, history };
}

/** Whether `dir` holds a target recording (its meta.json says so). */
export function isTargetRecording(dir: string): boolean {
  try {
    return (JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as { format?: string }).format === 'powercut-target-recording-v1';
  } catch {
    return false;
  }
}
