import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CleanupStack, FS_VARIANTS, fsckBeforeMount, mount, umount, type FsckReport } from '../../dm/index.js';
import {
  enumerateStates,
  StateMaterialiser,
  visibleMarks,
  type Coverage,
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

/** Sync-failure codes after which the WAL must never acknowledge again (the writer's WAL codes). */

interface StateFacts {
  id: string;
  kind: CrashState['kind'];
  marksVisible: number;
  lastMark: string | null;
}

/**
 * Which states also get a second life (recover, append, unmount, mount, recover again):
 * 'sampled' = every third state whose recovery cut a torn tail or repaired corruption (where a
 * tail counted but not cut shows), and every SECOND_LIFE_EVERY-th of the rest; 'off' = none.
 * A second life costs about a state's own check again, so it is sampled rather than given to all.
 */
export type SecondLifePolicy = 'sampled' | 'off';

/** Appends of a state's second life: enough to cover a torn tail and cross into what lies after it. */
const SECOND_LIFE_APPENDS = 6;
const SECOND_LIFE_EVERY = 10;
const SECOND_LIFE_CUT_EVERY = 3;

/**
 * One checked state. `unmountable`: the filesystem itself refused the image (say a superblock
 * write torn at 512 bytes, which a disk with 4 KiB atomic sectors would not produce): there is no
 * WAL to judge, and it is counted apart, neither a WAL violation nor a pass.
 */
export type StateResult =
  | (StateFacts & {
      /** 'fs-failed': the loss is the filesystem's (fsck repaired the image before the mount; fs-failure.ts). */
      status: 'held' | 'violated' | 'fs-failed';
      reasons: string[];
      verdict: CrashVerdict;
      /** What fsck did to the image before the mount (filesystems without a journal). */
      fsck?: FsckReport;
      recovery: { status: Recovery['status']; entries: number; code?: string; corruption: string | null };
      /** The state's second life, when it had one: its verdict decides when the first life held. */
      secondLife?: 'held' | 'violated';
    })
  | (StateFacts & { status: 'unmountable'; reasons: string[]; fsck?: FsckReport });

export type JudgedState = Extract<StateResult, { verdict: CrashVerdict }>;

export interface CheckTimings {
  materialiseMs: number;
  mountMs: number;
  recoverMs: number;
  judgeMs: number;
  totalMs: number;
}

export interface CheckReport {
  recording: string;
  meta: RecordingMeta;
  coverage: Coverage | null;
  checked: number;
  violatedStates: number;
  /** States whose loss was the filesystem's: fsck repaired the image (no journal) and the repair took durable data. */
  fsFailedStates: number;
  /** The first of them (at most 20). */
  fsFailures: JudgedState[];
  unmountableStates: number;
  /** The first unmountable states (at most 20). */
  unmountable: StateResult[];
  /** States that were also given a second life (SecondLifePolicy). */
  secondLives: number;
  /** The first violated states (at most 20), in enumeration order. */
  violations: JudgedState[];
  /**
   * A state that speaks for the recording in summaries: the first violated one, else the first
   * the filesystem failed; else the state
   * with the most acknowledgements visible that still lost something (a crash shown to be real at
   * its strictest), or the one with the most acknowledgements when none lost anything.
   */
  representative: JudgedState | null;
  timings: CheckTimings;
  statesPerSecond: number;
  /** A whole-log replay onto a zeroed image before the states: data bytes and MB/s. */
  replayBytes: number;
  replayMBps: number;
}

/** An opened recording: its log (unzipped into a work directory), index and history. */
export class OpenRecording {
  readonly meta: RecordingMeta;
  readonly index: LogIndex;
  readonly history: WorkloadEvent[];
  readonly workDir: string;
  readonly logPath: string;

  // With a stack, the work directory (an unzipped log and state images: tens of MB in /dev/shm)
  // is on it, so an interrupted or killed check does not leave it behind.
  constructor(
    readonly dir: string,
    stack?: CleanupStack,
    workParent = defaultWorkParent(),
  ) {
    this.meta = readRecordingMeta(dir);
    this.workDir = mkdtempSync(path.join(workParent, 'powercut-check-'));
    stack?.add({ kind: 'dir', path: this.workDir });
    this.logPath = path.join(this.workDir, 'log.bin');
    try {
      writeFileSync(this.logPath, gunzipSync(readFileSync(path.join(dir, 'log.bin.gz'))));
      this.history = parseEvents(readFileSync(path.join(dir, 'events.jsonl'), 'utf8')).events;
      const log = openLog(this.logPath);
      this.index = LogIndex.build(log);
    } catch (cause) {
      rmSync(this.workDir, { recursive: true, force: true });
      if (cause instanceof CrashError) throw cause;
      throw new CrashError('BAD_RECORDING', `${dir}: ${(cause as Error).message}`, { cause });
    }
  }

  close(): void {
    closeLog(this.index.log);
    rmSync(this.workDir, { recursive: true, force: true });
  }
}

function defaultWorkParent(): string {
  return process.env.POWERCUT_CHECK_DIR ?? (existsSync('/dev/shm') ? '/dev/shm' : '/tmp');
}

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Checks states of one open recording, one after another (states of one enumeration move forward). */
export class StateChecker {
  private readonly materialiser: StateMaterialiser;
  private readonly image: string;
  private readonly mountPoint: string;
  readonly timings: CheckTimings = { materialiseMs: 0, mountMs: 0, recoverMs: 0, judgeMs: 0, totalMs: 0 };
  private judged = 0;
  private cutStates = 0;
  /** States that were given a second life. */
  secondLives = 0;

  constructor(
    private readonly rec: OpenRecording,
    private readonly stack: CleanupStack,
    private readonly secondLifePolicy: SecondLifePolicy = 'sampled',
  ) {
    this.materialiser = new StateMaterialiser(rec.index, rec.meta.deviceBytes, rec.workDir);
    this.image = path.join(rec.workDir, 'state.img');
    this.mountPoint = path.join(rec.workDir, 'mnt');
    mkdirSync(this.mountPoint);
  }

  /** Materialise, mount, recover and judge one state. */
  async check(state: CrashState): Promise<StateResult> {
    const { rec } = this;
    const t0 = process.hrtime.bigint();
    this.materialiser.materialise(state, this.image);
    const t1 = process.hrtime.bigint();
    this.timings.materialiseMs += Number(t1 - t0) / 1e6;
    const variant = FS_VARIANTS[rec.meta.spec.fs];
    const fs = variant.fs;
    const marks = visibleMarks(rec.index, state);
    const facts: StateFacts = { id: state.id, kind: state.kind, marksVisible: marks.length, lastMark: marks[marks.length - 1] ?? null };
    const reg = this.stack.add({ kind: 'mount', mountPoint: this.mountPoint });
    const w = rec.meta.writer;
    const walDir = path.join(this.mountPoint, rec.meta.walDir);
    const walOptions = { strategy: w.strategy, segmentSize: w.segmentSize, preallocate: w.preallocate };
    // Native publish marks cover promises by seq; JS marks by their place in the event stream.
    const history = rec.meta.spec.publishMarks === true ? historyAtPublishedMarks(rec.history, marks) : historyAtCrash(rec.history, marks);
    let recovery: Recovery;
    let first: JudgedState;
    let second: { verdict: CrashVerdict; failed: Extract<Recovery, { status: 'failed' }> | null } | null = null;
    // Without a journal the state is what a boot would fsck before mounting: e2fsck on the image.
    const fsck = variant.fsckAfterCut ? await fsckBeforeMount(this.image, fs) : undefined;
    try {
      try {
        // -o loop: mount attaches a loop device with autoclear, so umount frees it.
        await mount(this.image, this.mountPoint, { fs, options: ['loop', ...variant.mountOptions] });
      } catch (cause) {
        this.timings.mountMs += ms(t1);
        this.timings.totalMs += ms(t0);
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
      first = judged(facts, history, recovery, fsck);
      this.judged++;
      if (first.status === 'held' && recovery.status === 'recovered' && this.wantsSecondLife(recovery)) {
        this.secondLives++;
        second = await this.secondLife(walDir, walOptions, history, recovery);
      }
    } finally {
      const t3 = process.hrtime.bigint();
      await this.stack.release(reg);
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
    this.timings.totalMs += ms(t0);
    return result;
  }

  private wantsSecondLife(recovery: Extract<Recovery, { status: 'recovered' }>): boolean {
    if (this.secondLifePolicy === 'off') return false;
    if (recovery.stats.tornBytes > 0 || recovery.corruption !== null) return this.cutStates++ % SECOND_LIFE_CUT_EVERY === 0;
    return this.judged % SECOND_LIFE_EVERY === 1;
  }

  // A second life on the crashed image, as a user would live it: the WAL recovered (done), a
  // writer appends a few entries with fdatasync (whatever the recording's strategy: the on-disk
  // format and its recovery are the same, and fdatasync makes every ack a promise), closes, the
  // filesystem is unmounted and mounted again (its page cache is gone), and the WAL is recovered
  // once more. The first recovery's entries and the second life's acks must all come back.
  private async secondLife(
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
    await umount(this.mountPoint);
    const variant = FS_VARIANTS[this.rec.meta.spec.fs];
    await mount(this.image, this.mountPoint, { fs: variant.fs, options: ['loop', ...variant.mountOptions] });
    const again = openFailure ?? (await recoverWal(walDir, walOptions));
    const lives = secondLifeHistory(history, recovery.entries, events);
    const verdict = judgeCrash({ history: lives, recovered: again.status === 'recovered' ? again.entries : [], syncFailureCodes: SYNC_FAILURE_CODES });
    return { verdict, failed: again.status === 'failed' ? again : null };
  }

  close(): void {
    this.materialiser.close();
  }
}

function judged(facts: StateFacts, history: WorkloadEvent[], recovery: Recovery, fsck: FsckReport | undefined): JudgedState {
  const verdict = judgeCrash({ history, recovered: recovery.status === 'recovered' ? recovery.entries : [], syncFailureCodes: SYNC_FAILURE_CODES });
  const failed = recovery.status === 'failed' ? recovery : null;
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
      corruption: recovery.corruption ? `${recovery.corruption.code}: ${recovery.corruption.message}` : null,
    },
  };
}

export interface CheckOptions {
  enumerate?: EnumerateOptions;
  /** Stop after this many states (a quick look); default: all. */
  maxStates?: number;
  onState?: (result: StateResult, checked: number) => void;
  /** Second lives on states (default 'sampled'). */
  secondLife?: SecondLifePolicy;
}

function speaksLouder(a: JudgedState, b: JudgedState): boolean {
  const rank = (s: JudgedState) => [s.verdict.loss.lost > 0 ? 1 : 0, s.verdict.loss.acked, s.verdict.loss.lost];
  const [x, y] = [rank(a), rank(b)];
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return (x[i] as number) > (y[i] as number);
  return false;
}

/** Check every crash state of the recording in `dir` (after its `mkfs` mark). */
export async function checkRecording(dir: string, options: CheckOptions = {}): Promise<CheckReport> {
  const stack = new CleanupStack();
  const rec = new OpenRecording(dir, stack);
  const replay = measureReplay(rec);
  const checker = new StateChecker(rec, stack, options.secondLife ?? 'sampled');
  const started = process.hrtime.bigint();
  let checked = 0;
  let violatedStates = 0;
  let unmountableStates = 0;
  let fsFailedStates = 0;
  const fsFailures: JudgedState[] = [];
  const violations: JudgedState[] = [];
  const unmountable: StateResult[] = [];
  let worst: JudgedState | null = null;
  const enumeration = enumerateStates(rec.index, { afterMark: 'mkfs', ...options.enumerate });
  try {
    for (const state of enumeration) {
      if (options.maxStates !== undefined && checked >= options.maxStates) break;
      const result = await checker.check(state);
      checked++;
      if (result.status === 'unmountable') {
        unmountableStates++;
        if (unmountable.length < 20) unmountable.push(result);
      } else if (result.status === 'violated') {
        violatedStates++;
        if (violations.length < 20) violations.push(result);
      } else if (result.status === 'fs-failed') {
        fsFailedStates++;
        if (fsFailures.length < 20) fsFailures.push(result);
      } else if (worst === null || speaksLouder(result, worst)) {
        worst = result;
      }
      options.onState?.(result, checked);
    }
  } finally {
    checker.close();
    await stack.unwind();
    rec.close();
  }
  const wallMs = ms(started);
  return {
    recording: dir,
    meta: rec.meta,
    coverage: options.maxStates === undefined ? enumeration.coverage : null,
    checked,
    violatedStates,
    fsFailedStates,
    fsFailures,
    secondLives: checker.secondLives,
    violations,
    unmountableStates,
    unmountable,
    representative: violations[0] ?? fsFailures[0] ?? worst,
    timings: { ...checker.timings, totalMs: wallMs },
    statesPerSecond: checked / (wallMs / 1000),
    replayBytes: replay.bytes,
    replayMBps: replay.bytes / 2 ** 20 / (replay.ms / 1000),
  };
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
