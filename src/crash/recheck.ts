import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CrashVerdict, RecoveredDigest } from '../oracle/index.js';
import { parseEvents } from '../workload/events.js';
import { parseWriterConfig } from '../workload/writer-config.js';
import { ARTIFACT_FILES, readArtifact } from './artifacts.js';
import { CrashError } from './crash-error.js';
import { recoverWal } from './writer/recover.js';
import { judgeLives, type LifeRecovery, type SavedLives } from './flakey/lives.js';
import { reasonsOf } from './verdict-reasons.js';

// `crashtest recheck DIR`: judge a saved violation again, in either mode's artifact (one layout,
// src/crash/artifacts.ts), without a VM.
// flakey: recovery runs again on a copy of the saved WAL directory (the WAL may be fixed since);
// the recovered list the trial saw is the fallback when the WAL cannot be opened here, and the two
// are compared. A two-life trial is judged as the trial judged it (first-life.json: the first
// life against its saved recovery, the second against the reopened WAL). No root needed.
// log-writes: every saved violated crash state of the saved recording is materialised and checked
// again with the WAL as built now (root: each state is loop-mounted, as the trial did).

export interface RecheckResult {
  status: 'held' | 'violated';
  verdict: CrashVerdict;
  reasons: string[];
  /** Which recovered list was judged. */
  source: 'wal-reopened' | 'saved-list' | 'crash-states';
  /** When the WAL was reopened: whether it returned what the trial saw (same seqs and digests). */
  matchesSavedList: boolean | null;
  savedStatus: string | null;
  /** Why the saved WAL could not be reopened, if it could not. */
  reopenProblem: string | null;
  /** log-writes: the saved violated states, judged again (the first violated one is `verdict`). */
  states?: { id: string; status: string; reasons: string[] }[];
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

function parseSavedLives(text: string): SavedLives {
  const value = JSON.parse(text) as Partial<SavedLives>;
  const first = value.first;
  const recovery = first?.recovery;
  const recoveryOk =
    recovery !== undefined &&
    ((recovery.status === 'recovered' && Array.isArray(recovery.entries)) ||
      (recovery.status === 'failed' && typeof recovery.code === 'string' && typeof recovery.message === 'string'));
  if (typeof first?.rawEvents !== 'string' || !recoveryOk || typeof value.secondJudged !== 'boolean') {
    throw new Error('is not {"first":{"rawEvents","recovery"},"secondJudged"}');
  }
  return { first: { rawEvents: first.rawEvents, recovery }, secondJudged: value.secondJudged };
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

/** Judge the artifact directory `dir` again (either mode). */
export async function recheck(dir: string): Promise<RecheckResult> {
  if (!existsSync(dir)) throw new CrashError('BAD_ARTIFACT', `no such directory: ${dir}`);
  if (existsSync(path.join(dir, ARTIFACT_FILES.recording))) return recheckStates(dir);
  return recheckWal(dir);
}

async function recheckStates(dir: string): Promise<RecheckResult> {
  const saved = load(dir, ARTIFACT_FILES.states, (t) => (JSON.parse(t) as { states?: { id?: unknown }[] }).states ?? []);
  const ids = saved.map((s) => s.id).filter((id): id is string => typeof id === 'string');
  if (ids.length === 0) throw new CrashError('BAD_ARTIFACT', `${path.join(dir, ARTIFACT_FILES.states)} names no crash state`);
  const savedStatus = load(dir, ARTIFACT_FILES.verdict, (t) => (JSON.parse(t) as { status?: string }).status ?? null);
  // Loaded here, not at the top: state checking (loop mounts) is host-side code the crashtest
  // bundle that runs inside the microVM never needs.
  const { checkOneState } = await import('./explore/index.js');
  const recording = path.join(dir, ARTIFACT_FILES.recording);
  const states: NonNullable<RecheckResult['states']> = [];
  let judged: { verdict: CrashVerdict; reasons: string[]; status: 'held' | 'violated' } | undefined;
  for (const id of ids) {
    const r = await checkOneState(recording, id);
    states.push({ id, status: r.status, reasons: r.reasons });
    if (r.status === 'unmountable') continue;
    if (judged === undefined || (judged.status === 'held' && r.status === 'violated')) judged = { verdict: r.verdict, reasons: r.reasons, status: r.status };
  }
  if (judged === undefined) throw new CrashError('CHECK_FAILED', `none of the ${ids.length} saved crash states of ${dir} could be mounted`);
  return {
    status: judged.status,
    verdict: judged.verdict,
    reasons: judged.reasons,
    source: 'crash-states',
    matchesSavedList: null,
    savedStatus,
    reopenProblem: null,
    states,
  };
}

async function recheckWal(dir: string): Promise<RecheckResult> {
  const rawHistory = load(dir, ARTIFACT_FILES.history, (t) => {
    parseEvents(t);
    return t;
  });
  const lives = existsSync(path.join(dir, ARTIFACT_FILES.firstLife)) ? load(dir, ARTIFACT_FILES.firstLife, parseSavedLives) : null;
  if (lives && !rawHistory.startsWith(lives.first.rawEvents)) {
    throw new CrashError(
      'BAD_ARTIFACT',
      `${path.join(dir, ARTIFACT_FILES.history)} does not begin with the first life's events of ${ARTIFACT_FILES.firstLife}`,
    );
  }
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
  // The first life's recovery cannot be run again (its state is gone): its saved result is judged.
  const final: LifeRecovery = recoveryFailure ? { status: 'failed', ...recoveryFailure } : { status: 'recovered', entries: recovered };
  const judged = lives
    ? judgeLives(lives.first, lives.secondJudged ? rawHistory.slice(lives.first.rawEvents.length) : null, final)
    : judgeLives(undefined, rawHistory, final);
  const { verdict, failedRecovery } = judged;
  const status = verdict.status === 'violated' || failedRecovery ? 'violated' : 'held';
  const reasons = reasonsOf(verdict, failedRecovery).map((r) => `${judged.life}${r}`);
  return { status, verdict, reasons, source, matchesSavedList, savedStatus, reopenProblem };
}
