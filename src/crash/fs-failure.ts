import type { FsckReport } from '../dm/index.js';
import type { CrashVerdict } from '../oracle/index.js';

// On a filesystem without a journal a power cut can break the filesystem under the WAL: fsck
// then repairs it, and a repair can take what the WAL had made durable (a segment's rename, the
// truncate's first-seq file, blocks of a file that fsync had flushed). That loss is the
// filesystem's failure, not the WAL's, and is reported apart from a WAL violation:
//   - a wrong payload (integrity) is ALWAYS the WAL's violation: nothing the filesystem loses
//     can make the WAL return bytes that were never appended under that seq;
//   - an ack after a failed sync (acknowledgement) is the WAL's too: it is about what the WAL
//     said while running, before any cut;
//   - a loss (durability, prefix, expectation) or a failed recovery after fsck had to repair is
//     the filesystem's failure; without a repair it is the WAL's violation.

export type TrialStatus = 'held' | 'violated' | 'fs-failed';

/** The status of one judged crash, with what fsck did before the mount (null: no fsck ran). */
export function crashStatus(verdict: CrashVerdict, recoveryFailed: boolean, fsck: FsckReport | null | undefined): TrialStatus {
  if (verdict.status === 'held' && !recoveryFailed) return 'held';
  const walOnly = verdict.checks.integrity.status === 'violated' || verdict.checks.acknowledgement.status === 'violated';
  if (walOnly) return 'violated';
  return fsck && (fsck.repaired || fsck.uncorrected) ? 'fs-failed' : 'violated';
}

/** The line that says why a loss is the filesystem's. */
export function fsFailureReason(fsck: FsckReport): string {
  const last = fsck.runs[fsck.runs.length - 1];
  return `filesystem failure, not the WAL's: fsck had to repair the filesystem after the cut (${fsck.runs.map((r) => `${r.command} exit ${r.exitCode}`).join(', then ')}${fsck.uncorrected ? ', errors left' : ''})${last ? `; its last words: ${lastLines(last.output)}` : ''}`;
}

function lastLines(output: string): string {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.slice(-3).join(' | ') || 'no output';
}
