import { run } from '../run.js';
import type { FsType } from './mount.js';

// fsck before a mount after a power cut, as a boot does for a filesystem without a journal.
// e2fsck's exit status is a bit mask (e2fsck(8)): 1 errors corrected, 2 corrected and a reboot
// wanted, 4 errors left uncorrected, 8 operational error. -p (preen) fixes what is safe to fix
// unattended and stops with 4 otherwise; then -y answers yes to every repair, which is what an
// administrator would end up doing to get the filesystem mounted at all.

export interface FsckRun {
  command: string;
  exitCode: number;
  output: string;
}

export interface FsckReport {
  runs: FsckRun[];
  /** fsck changed the filesystem (exit bit 1 or 2 of any run): the cut left it inconsistent. */
  repaired: boolean;
  /** Errors were still left after the last run (bit 4 or 8): the filesystem is not fit to mount. */
  uncorrected: boolean;
}

const CORRECTED = 1 | 2;
const LEFT = 4 | 8;

/** Judge a sequence of fsck runs by their exit codes (pure, for tests). */
export function fsckVerdict(runs: readonly FsckRun[]): Pick<FsckReport, 'repaired' | 'uncorrected'> {
  const last = runs[runs.length - 1];
  return {
    repaired: runs.some((r) => (r.exitCode & CORRECTED) !== 0 || (r !== last && (r.exitCode & LEFT) !== 0)),
    uncorrected: last !== undefined && (last.exitCode & LEFT) !== 0,
  };
}

/** Check and repair the unmounted filesystem on `device` (a block device or an image file). */
export async function fsckBeforeMount(device: string, fs: FsType): Promise<FsckReport> {
  if (fs !== 'ext4') throw new Error(`fsck before mount is only wired for ext4, not ${fs}`);
  const runs: FsckRun[] = [];
  for (const mode of ['-p', '-y']) {
    // -f: check even when the superblock says clean (a cut can leave it saying so).
    const args = [mode, '-f', device];
    const r = await run('e2fsck', args, { allowFailure: true, timeoutMs: 120_000 });
    runs.push({ command: ['e2fsck', ...args].join(' '), exitCode: r.exitCode, output: [r.stdout, r.stderr].filter(Boolean).join('\n') });
    if ((r.exitCode & 4) === 0) break;
  }
  return { runs, ...fsckVerdict(runs) };
}

/** One line for a timeline or a note. */
export function describeFsck(report: FsckReport): string {
  const codes = report.runs.map((r) => `${r.command.split(' ').slice(0, 2).join(' ')} exit ${r.exitCode}`).join(', then ');
  return `${codes}: ${report.uncorrected ? 'errors left uncorrected' : report.repaired ? 'repaired the filesystem' : 'clean'}`;
}
