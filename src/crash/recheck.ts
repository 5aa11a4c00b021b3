import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { judgeCrash, type CrashVerdict, type RecoveredDigest } from '../oracle/index.js';
import { parseEvents, type WorkloadEvent } from '../workload/events.js';
import { parseWriterConfig } from '../workload/writer-config.js';
import { ARTIFACT_FILES, readArtifact } from './artifacts.js';
import { CrashError } from './crash-error.js';
import { recoverWal } from './writer/recover.js';
import { SYNC_FAILURE_CODES } from '../strategy/index.js';
import { reasonsOf } from './verdict-reasons.js';

// `crashtest recheck DIR`: judge a saved violation again, without a VM or root. Recovery runs
// again on a copy of the saved WAL directory (the WAL may be fixed since); the recovered list the
// trial saw is the fallback when the WAL cannot be opened here, and the two are compared.

export interface RecheckResult {
  status: 'held' | 'violated';
  verdict: CrashVerdict;
  reasons: string[];
  /** Which recovered list was judged. */
  source: 'wal-reopened' | 'saved-list';
  /** When the WAL was reopened: whether it returned what the trial saw (same seqs and digests). */
  matchesSavedList: boolean | null;
  savedStatus: string | null;
  /** Why the saved WAL could not be reopened, if it could not. */
  reopenProblem: string | null;
}

function parseRecoveredList(text: string): RecoveredDigest[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      const value = JSON.parse(line) as { seq?: unknown; digest?: unknown };
      if (typeof value.seq !== 'number' || typeof value.digest !== 'string') throw new Error(`line ${i + 1} is not {"seq","digest"}`);
      return { seq: value.seq, digest: value.digest };
    });
}

function load<T>(dir: string, name: string, parse: (text: string) => T): T {
  let text: string;
  try {
    text = readArtifact(dir, name);
  } catch (cause) {
    throw new CrashError('BAD_ARTIFACT', `${dir} is not a crashtest artifact directory: cannot read ${name}`, { cause });
  }
  try {
    return parse(text);
  } catch (cause) {
    throw new CrashError('BAD_ARTIFACT', `${path.join(dir, name)}: ${(cause as Error).message}`, { cause });
  }
}

/** Judge the artifact directory `dir` again. */
export async function recheck(dir: string): Promise<RecheckResult> {
  if (!existsSync(dir)) throw new CrashError('BAD_ARTIFACT', `no such directory: ${dir}`);
  const history: WorkloadEvent[] = load(dir, ARTIFACT_FILES.history, (t) => parseEvents(t).events);
  const saved = load(dir, ARTIFACT_FILES.recovered, parseRecoveredList);
  const writer = load(dir, ARTIFACT_FILES.plan, (t) => parseWriterConfig((JSON.parse(t) as { writer?: unknown }).writer));
  const savedStatus = load(dir, ARTIFACT_FILES.verdict, (t) => (JSON.parse(t) as { status?: string }).status ?? null);

  let recovered = saved;
  let source: RecheckResult['source'] = 'saved-list';
  let matchesSavedList: boolean | null = null;
  let reopenProblem: string | null = null;
  let recoveryFailure: { code: string; message: string } | null = null;
  const walDir = path.join(dir, ARTIFACT_FILES.wal);
  if (existsSync(walDir)) {
    // Recovery may repair files in place: work on a copy so the artifact stays as the crash left it.
    const copy = mkdtempSync(path.join(tmpdir(), 'powercut-recheck-'));
    try {
      cpSync(walDir, copy, { recursive: true });
      const r = await recoverWal(copy, { strategy: writer.strategy, segmentSize: writer.segmentSize, preallocate: writer.preallocate });
      if (r.status === 'recovered') {
        recovered = r.entries;
        source = 'wal-reopened';
        matchesSavedList = r.entries.length === saved.length && r.entries.every((e, i) => e.seq === saved[i]?.seq && e.digest === saved[i]?.digest);
      } else if (r.code === 'WAL_NATIVE_MISSING') {
        reopenProblem = r.message;
      } else {
        recovered = [];
        source = 'wal-reopened';
        recoveryFailure = r;
        matchesSavedList = saved.length === 0;
      }
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  } else {
    reopenProblem = 'the artifact has no wal/ directory';
  }
  const verdict = judgeCrash({ history, recovered, syncFailureCodes: SYNC_FAILURE_CODES });
  const status = verdict.status === 'violated' || recoveryFailure ? 'violated' : 'held';
  return { status, verdict, reasons: reasonsOf(verdict, recoveryFailure), source, matchesSavedList, savedStatus, reopenProblem };
}
