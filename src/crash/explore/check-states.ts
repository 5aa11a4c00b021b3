import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CleanupStack, FS_VARIANTS, fsckBeforeMount, type FsckReport } from '../../dm/index.js';
import { StateSlots, type MountMethod, type Slot } from './state-slots.js';
import {
  enumerateStates,
  visibleMarks,
  type CrashState,
  type EnumerateOptions,
  closeLog,
  LogIndex,
  openLog,
  replayToImage,
} from '../../dm/log-writes/index.js';
import { historyAtCrash, historyAtPublishedMarks, judgeCrash, secondLifeHistory, type CrashVerdict } from '../../oracle/index.js';
import { parseEvents, type WorkloadEvent } from '../../workload/events.js';
import { runWriter } from '../../workload/writer.js';
import { parseWriterConfig } from '../../workload/writer-config.js';
import { recoverWal, type Recovery } from '../writer/recover.js';
import { readRecordingMeta, type RecordingMeta } from '../record/session.js';
import {
  statesOfShard,
  summariseStates,
  type CheckReport,
  type CheckTimings,
  type JudgedState,
  type Shard,
  type StateFacts,
  type StateResult,
} from './check-report.js';
import { checkerVersion, recordingHash, STORE_FORMAT, type ResultStore } from './result-store.js';
import { reasonsOf } from '../verdict-reasons.js';
import { CrashError } from '../crash-error.js';
import { SYNC_FAILURE_CODES } from '../../strategy/index.js';
import { crashStatus, fsFailureReason } from '../fs-failure.js';

// Check crash states of a recording on any Linux host with loop devices (no device-mapper): for
// each state, materialise the image (src/dm/crash-states.ts), loop-mount it (the filesystem
// replays its journal), recover the WAL as a user would, and judge what it returns against the
// history cut at the marks visible in that state. Images live on tmpfs (/dev/shm) when there is
// one: each state is a fresh sparse file, and the page cache of a disk-backed file would make
// every state wait for writeback.
//
// `jobs` states are in flight at once, each in a slot of its own (state-slots.ts). A state's
// result depends on the state alone (its second life is chosen by a hash of its id, not by a
// count of the states before it), and results are handed on in enumeration order, so any number
// of jobs, shards or resumed runs give the same report.

/**
 * What a state's check does, as a version: results stored under another version are not reused.
 * Bump it when the checking of a state changes (materialising, mounting, recovery, the oracle,
 * second lives); the WAL build under test is part of the key on its own (see result-store.ts).
 */
export const CHECK_FORMAT = 3;

/**
 * Which states also get a second life (recover, append, unmount, mount, recover again):
 * 'sampled' = one in three of the states whose recovery cut a torn tail or repaired corruption
 * (where a tail counted but not cut shows), and one in SECOND_LIFE_EVERY of the rest, chosen by a
 * hash of the state id; 'off' = none. A second life costs about a state's own check again, so it
 * is sampled rather than given to all.
 */
export type SecondLifePolicy = 'sampled' | 'off';

export type { MountMethod } from './state-slots.js';

/** Appends of a state's second life: enough to cover a torn tail and cross into what lies after it. */
const SECOND_LIFE_APPENDS = 6;
const SECOND_LIFE_EVERY = 10;
const SECOND_LIFE_CUT_EVERY = 3;

/** An opened recording: its log (unzipped into a work directory), index and history. */
export class OpenRecording {
  readonly meta: RecordingMeta;
  readonly index: LogIndex;
  readonly history: WorkloadEvent[];
  readonly workDir: string;
  readonly logPath: string;
  /** sha256 of the recording's files (result-store.ts). */
  readonly hash: string;

  // With a stack, the work directory (an unzipped log and state images: tens of MB in /dev/shm)
  // is on it, so an interrupted or killed check does not leave it behind.
  constructor(
    readonly dir: string,
    stack?: CleanupStack,
    workParent = defaultWorkParent(),
  ) {
    this.meta = readRecordingMeta(dir);
    this.hash = recordingHash(dir);
    try {
      this.history = parseEvents(readFileSync(path.join(dir, 'events.jsonl'), 'utf8')).events;
    } catch (cause) {
      throw new CrashError('BAD_RECORDING', `${dir}: ${(cause as Error).message}`, { cause });
    }
    ({ workDir: this.workDir, logPath: this.logPath, index: this.index } = unpackLog(dir, stack, workParent));
  }

  close(): void {
    closeLog(this.index.log);
    rmSync(this.workDir, { recursive: true, force: true });
  }
}

/**
 * Unzip a recording's log.bin.gz into a fresh work directory (on `stack`, when given) and index it.
 * The work directory is the caller's to remove (with closeLog of the index's log).
 */
export function unpackLog(dir: string, stack?: CleanupStack, workParent = defaultWorkParent()): { workDir: string; logPath: string; index: LogIndex } {
  const workDir = mkdtempSync(path.join(workParent, 'powercut-check-'));
  stack?.add({ kind: 'dir', path: workDir });
  const logPath = path.join(workDir, 'log.bin');
  try {
    writeFileSync(logPath, gunzipSync(readFileSync(path.join(dir, 'log.bin.gz'))));
    return { workDir, logPath, index: LogIndex.build(openLog(logPath)) };
  } catch (cause) {
    rmSync(workDir, { recursive: true, force: true });
    if (cause instanceof CrashError) throw cause;
    throw new CrashError('BAD_RECORDING', `${dir}: ${(cause as Error).message}`, { cause });
  }
}

function defaultWorkParent(): string {
  return process.env.POWERCUT_CHECK_DIR ?? (existsSync('/dev/shm') ? '/dev/shm' : '/tmp');
}

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** A hash of a state id in [0, 2^32): which states get a second life, the same in every run. */
function idHash(id: string): number {
  return createHash('sha256').update(id).digest().readUInt32LE(0);
}

/** Checks states of one open recording, up to `jobs` at a time (states of one enumeration move forward). */
export class StateChecker {
  private readonly slots: StateSlots;
  readonly timings: CheckTimings = { materialiseMs: 0, mountMs: 0, recoverMs: 0, secondLifeMs: 0, judgeMs: 0, totalMs: 0 };
  /** States that were given a second life. */
  secondLives = 0;

  constructor(
    private readonly rec: OpenRecording,
    private readonly stack: CleanupStack,
    private readonly secondLifePolicy: SecondLifePolicy = 'sampled',
    jobs = 1,
    mountMethod: MountMethod = 'syscall',
  ) {
    this.slots = new StateSlots(rec.index, rec.meta.deviceBytes, rec.workDir, rec.meta.spec.fs, stack, jobs, mountMethod, this.timings);
  }

  /** Materialise, mount, recover and judge one state. */
  check(state: CrashState): Promise<StateResult> {
    return this.slots.one(state, (slot, s) => this.judgeMounted(slot, s));
  }

  /**
   * Check `states` with every slot busy, handing each result to `onResult` in the order of
   * `states` (whatever order they finish in). Stops dispatching when `stop()` says so and waits
   * for the states in flight; returns how many were handed on.
   */
  checkEach(states: readonly CrashState[], onResult: (result: StateResult, position: number) => void, stop?: () => boolean): Promise<number> {
    return this.slots.each(states, (slot, s) => this.judgeMounted(slot, s), onResult, stop);
  }

  private async judgeMounted(slot: Slot, state: CrashState): Promise<StateResult> {
    const { rec } = this;
    const t1 = process.hrtime.bigint();
    const variant = FS_VARIANTS[rec.meta.spec.fs];
    const fs = variant.fs;
    const marks = visibleMarks(rec.index, state);
    const facts: StateFacts = { id: state.id, kind: state.kind, epoch: state.epoch, marksVisible: marks.length, lastMark: marks[marks.length - 1] ?? null };
    const reg = this.stack.add({ kind: 'mount', mountPoint: slot.mountPoint });
    const w = rec.meta.writer;
    const walDir = path.join(slot.mountPoint, rec.meta.walDir);
    const walOptions = { strategy: w.strategy, segmentSize: w.segmentSize, preallocate: w.preallocate };
    // Native publish marks cover promises by seq; JS marks by their place in the event stream.
    const cut = { truncatingMarked: rec.meta.truncatingMarked === true };
    const history = rec.meta.spec.publishMarks === true ? historyAtPublishedMarks(rec.history, marks, cut) : historyAtCrash(rec.history, marks, cut);
    let recovery: Recovery;
    let first: JudgedState;
    let second: { verdict: CrashVerdict; failed: Extract<Recovery, { status: 'failed' }> | null } | null = null;
    // Without a journal the state is what a boot would fsck before mounting: e2fsck on the image.
    const fsck = variant.fsckAfterCut ? await fsckBeforeMount(slot.image, fs) : undefined;
    try {
      try {
        await this.slots.mount(slot, true);
      } catch (cause) {
        this.timings.mountMs += ms(t1);
        // The kernel's reason only (strerror): the loop device and paths differ from run to run.
        const why = (cause as Error).message.split('\n')[0] ?? '';
        return {
          ...facts,
          status: 'unmountable',
          reasons: [`the ${fs} image does not mount: ${why.slice(why.lastIndexOf(': ') + 2)}`],
          ...(fsck ? { fsck } : {}),
        };
      }
      const t2 = process.hrtime.bigint();
      this.timings.mountMs += Number(t2 - t1) / 1e6;
      recovery = await recoverWal(walDir, walOptions);
      this.timings.recoverMs += ms(t2);
      first = judged(facts, history, recovery, fsck, walDir);
      if (first.status === 'held' && recovery.status === 'recovered' && this.wantsSecondLife(state.id, recovery)) {
        this.secondLives++;
        const t5 = process.hrtime.bigint();
        second = await this.secondLife(slot, walDir, walOptions, history, recovery);
        this.timings.secondLifeMs += ms(t5);
      }
    } finally {
      const t3 = process.hrtime.bigint();
      if (slot.mounted) await this.slots.unmount(slot);
      this.stack.forget(reg);
      this.timings.mountMs += ms(t3);
    }
    const t4 = process.hrtime.bigint();
    let result: JudgedState = first;
    if (second !== null) {
      const status = crashStatus(second.verdict, second.failed !== null, fsck);
      result =
        status !== 'held'
          ? {
              ...first,
              status,
              verdict: second.verdict,
              reasons: reasonsOf(second.verdict, second.failed).map((r) => `second life: ${r}`),
              secondLife: 'violated',
            }
          : { ...first, secondLife: 'held' };
    }
    this.timings.judgeMs += ms(t4);
    return result;
  }

  private wantsSecondLife(id: string, recovery: Extract<Recovery, { status: 'recovered' }>): boolean {
    if (this.secondLifePolicy === 'off') return false;
    const cut = recovery.stats.tornBytes > 0 || recovery.corruption !== null;
    return idHash(id) % (cut ? SECOND_LIFE_CUT_EVERY : SECOND_LIFE_EVERY) === 0;
  }

  // A second life on the crashed image, as a user would live it: the WAL recovered (done), a
  // writer appends a few entries with fdatasync (whatever the recording's strategy: the on-disk
  // format and its recovery are the same, and fdatasync makes every ack a promise), closes, the
  // filesystem is unmounted and mounted again (its page cache is gone), and the WAL is recovered
  // once more. The first recovery's entries and the second life's acks must all come back.
  private async secondLife(
    slot: Slot,
    walDir: string,
    walOptions: Parameters<typeof recoverWal>[1],
    history: WorkloadEvent[],
    recovery: Extract<Recovery, { status: 'recovered' }>,
  ): Promise<{ verdict: CrashVerdict; failed: Extract<Recovery, { status: 'failed' }> | null }> {
    const w = this.rec.meta.writer;
    const events: WorkloadEvent[] = [];
    const config = parseWriterConfig({
      ...w,
      dir: walDir,
      strategy: 'fdatasync',
      groupCommit: false,
      writers: 1,
      maxEntries: SECOND_LIFE_APPENDS,
      maxMs: 30_000,
      truncateEvery: 0,
      continueAfterFailure: false,
      announceStrategy: null,
      seed: w.seed + 1,
    });
    let openFailure: Extract<Recovery, { status: 'failed' }> | null = null;
    try {
      await runWriter(config, (e) => events.push(e));
    } catch (error) {
      openFailure = {
        status: 'failed',
        code: (error as { code?: string }).code ?? 'UNEXPECTED',
        message: `second life: ${(error as Error).message}`,
        corruption: null,
      };
    }
    await this.slots.unmount(slot);
    await this.slots.mount(slot);
    const again = openFailure ?? (await recoverWal(walDir, walOptions));
    const lives = secondLifeHistory(history, recovery.entries, events);
    const verdict = judgeCrash({ history: lives, recovered: again.status === 'recovered' ? again.entries : [], syncFailureCodes: SYNC_FAILURE_CODES });
    return { verdict, failed: again.status === 'failed' ? again : null };
  }

  close(): void {
    this.slots.close();
  }
}

function judged(facts: StateFacts, history: WorkloadEvent[], recovery: Recovery, fsck: FsckReport | undefined, walDir: string): JudgedState {
  const verdict = judgeCrash({ history, recovered: recovery.status === 'recovered' ? recovery.entries : [], syncFailureCodes: SYNC_FAILURE_CODES });
  // The WAL's own path names the run's work directory: a state's result must not (a resumed run
  // or another shard would store the same state differently), so its files are named from the WAL.
  const local = (message: string) => message.replaceAll(`${walDir}/`, '');
  const failed = recovery.status === 'failed' ? { ...recovery, message: local(recovery.message) } : null;
  const status = crashStatus(verdict, failed !== null, fsck);
  return {
    ...facts,
    status,
    reasons: [...reasonsOf(verdict, failed), ...(status === 'fs-failed' && fsck ? [fsFailureReason(fsck)] : [])],
    ...(fsck ? { fsck } : {}),
    verdict,
    recovery: {
      status: recovery.status,
      entries: recovery.status === 'recovered' ? recovery.entries.length : 0,
      ...(failed ? { code: failed.code } : {}),
      corruption: recovery.corruption ? `${recovery.corruption.code}: ${local(recovery.corruption.message)}` : null,
    },
  };
}

export interface CheckOptions {
  enumerate?: EnumerateOptions;
  /** Stop after this many states (a quick look); default: all. */
  maxStates?: number;
  /** Each state this run checks, in enumeration order (states taken from the store are not). */
  onState?: (result: StateResult, checked: number) => void;
  /** Second lives on states (default 'sampled'). */
  secondLife?: SecondLifePolicy;
  /** States in flight at once (default 1). */
  jobs?: number;
  /** Check only this part of the states (default: all). */
  shard?: Shard;
  /** Take judged states from here and add the new ones. */
  store?: ResultStore;
  /** Once this says true, no new state is started (a stopped run, resumed later from the store). */
  stop?: () => boolean;
  /** Before the first state: how many this run will check and how many the store already had. */
  onStart?: (plan: { total: number; resumed: number }) => void;
  /** Default 'syscall'; 'tools' only to measure what it saves. */
  mountWith?: MountMethod;
}

/** Check every crash state of the recording in `dir` (after its `mkfs` mark), or one shard of them. */
export async function checkRecording(dir: string, options: CheckOptions = {}): Promise<CheckReport> {
  const stack = new CleanupStack();
  const rec = new OpenRecording(dir, stack);
  const secondLife = options.secondLife ?? 'sampled';
  const jobs = options.jobs ?? 1;
  const enumerate: EnumerateOptions = { afterMark: 'mkfs', ...options.enumerate };
  let checker: StateChecker | undefined;
  try {
    const replay = measureReplay(rec);
    checker = new StateChecker(rec, stack, secondLife, jobs, options.mountWith);
    const enumeration = enumerateStates(rec.index, enumerate);
    const all = [...enumeration];
    const mine = statesOfShard(all, options.shard ?? null).slice(0, options.maxStates);
    const header = {
      format: STORE_FORMAT,
      recording: path.basename(dir),
      recordingHash: rec.hash,
      checker: checkerVersion(CHECK_FORMAT, secondLife),
      meta: rec.meta,
      enumerate,
      coverage: enumeration.coverage,
      states: all.map((s) => s.id),
      shard: options.shard ?? null,
    };
    const known = options.store?.known(header.recording, header.recordingHash, header.checker) ?? new Map<string, StateResult>();
    options.store?.writeHeader(header);
    const unjudged = mine.filter((s) => !known.has(s.id));
    options.onStart?.({ total: mine.length, resumed: mine.length - unjudged.length });
    const fresh = new Map<string, StateResult>();
    const started = process.hrtime.bigint();
    const checkedNow = await checker.checkEach(
      unjudged,
      (result, position) => {
        fresh.set(result.id, result);
        options.store?.append(header, result);
        options.onState?.(result, position + 1);
      },
      options.stop,
    );
    const wallMs = ms(started);
    const results = mine.map((s) => known.get(s.id) ?? fresh.get(s.id)).filter((r): r is StateResult => r !== undefined);
    return {
      recording: dir,
      recordingHash: rec.hash,
      meta: rec.meta,
      coverage: options.maxStates === undefined ? enumeration.coverage : null,
      shard: options.shard ?? null,
      ...summariseStates(results),
      resumed: mine.length - unjudged.length,
      checkedNow,
      interrupted: results.length < mine.length,
      jobs,
      timings: { ...checker.timings, totalMs: wallMs },
      statesPerSecond: checkedNow / (wallMs / 1000),
      replayBytes: replay.bytes,
      replayMBps: replay.bytes / 2 ** 20 / (replay.ms / 1000),
    };
  } finally {
    checker?.close();
    await stack.unwind();
    rec.close();
  }
}

/** Replay the whole log onto a zeroed image once: the replay throughput of this machine. */
function measureReplay(rec: OpenRecording): { bytes: number; ms: number } {
  const image = path.join(rec.workDir, 'replay.img');
  const start = process.hrtime.bigint();
  const progress = replayToImage(rec.index.log, image, { kind: 'end' }, { sizeBytes: rec.meta.deviceBytes });
  const took = ms(start);
  rmSync(image, { force: true });
  return { bytes: progress.bytesWritten, ms: took };
}
