import { cpSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { RecoveredDigest } from '../../oracle/index.js';
import type { TimelineEntry, WalTrialOutcome } from '../outcome.js';
import { WRITER_DEFAULTS, parseWriterConfig, type WriterConfig } from '../../workload/writer-config.js';
import type { DeviceStack, TableSwap } from './device-stack.js';
import { CrashError } from '../crash-error.js';
import { recoverWal, type Recovery } from '../writer/recover.js';
import { reasonsOf } from '../verdict-reasons.js';
import type { TrialPlan } from '../plan/trial-plan.js';
import { changesDevice } from '../plan/scenario.js';
import type { WriterLauncher } from '../writer/launcher.js';
import { describeFsck, type FsckReport } from '../../dm/index.js';
import { crashStatus, fsFailureReason } from '../fs-failure.js';
import { judgeLives, lifeRecovery, type SavedLives } from './lives.js';

// One crash trial with dm-flakey, start to verdict:
//   fresh WAL directory -> writer child -> scenario steps -> POWER CUT -> remount -> recovery -> oracle.
// The power cut, in this order (and why):
//   1. SIGSTOP the writer and wait until it is stopped: the history ends here, before the cut.
//   2. dmsetup suspend --nolockfs, load drop_writes, resume: from now on nothing reaches the
//      disk; whatever sat in the page cache or the device queue is lost, as in a power failure.
//      (--nolockfs: a plain suspend freezes the filesystem, which SYNCS it, and nothing is lost.)
//   3. SIGKILL the writer.
//   4. umount (its writes are dropped too), load the pass-through table, mount: the filesystem
//      sees exactly what was on the disk at the cut, and replays its journal.
//   5. Open the WAL (recovery), read every entry, judge against the history.

/** How long one scenario wait may take before the harness cuts anyway (TCG is slow). */
const WAIT_LIMIT_MS = 60_000;

/** What a flakey trial leaves for its artifact, beside its outcome. */
export interface FlakeyEvidence {
  plan: TrialPlan;
  writer: WriterConfig;
  /** What recovery returned, entry by entry (the outcome keeps only the count). */
  recovered: RecoveredDigest[];
  tables: TableSwap[];
  /** The writer's event stream, verbatim. */
  rawEvents: string;
  writerStderr: string;
  writerExit: { code: number | null; signal: string | null };
  /** A copy of the WAL directory as the crash left it, before recovery touched it. */
  walCopy: string;
  /** A two-life trial's first life, judged apart from the second (null for one life). */
  lives: SavedLives | null;
}

export interface TrialResult {
  outcome: WalTrialOutcome;
  evidence: FlakeyEvidence;
}

export interface TrialContext {
  devices: DeviceStack;
  /** Starts the writers (bundle.ts builds what they run). */
  writers: WriterLauncher;
  /** Another trial follows: start its writer while this one recovers. */
  warmNext: boolean;
  /** Where per-trial scratch copies go (on tmpfs in the VM, not on the crash device). */
  scratchDir: string;
}

/** Run one trial on the device stack; throws CrashError when the trial itself could not be carried out. */
export async function runTrial(plan: TrialPlan, ctx: TrialContext): Promise<TrialResult> {
  const { devices } = ctx;
  const started = Date.now();
  const timeline: TimelineEntry[] = [];
  const mark = (what: string) => timeline.push({ atMs: Date.now() - started, what });
  const notes: string[] = [];
  devices.startTrial();
  await devices.mount();
  const name = `trial-${plan.index}`;
  rmSync(path.join(devices.mountPoint, name), { recursive: true, force: true });
  const dir = devices.makeTrialDir(name);
  const writer = parseWriterConfig({
    ...WRITER_DEFAULTS,
    ...plan.workload,
    dir,
    strategy: plan.strategy,
    groupCommit: plan.groupCommit,
    seed: plan.trialSeed,
    // The cut comes long before; these only bound a writer the harness lost track of.
    maxMs: 10 * 60_000,
  });
  mark(`writer start (${plan.scenario}, ${writer.writers} writers, payload ${writer.minPayload}-${writer.maxPayload} B, segment ${writer.segmentSize} B)`);
  let { child, registration } = ctx.writers.launch(writer);
  // The power cut, steps 1-4 of the header: the writer frozen, writes dropped, the writer killed,
  // the filesystem remounted on the pass-through table (which drops its page cache).
  const cutAndRemount = async (): Promise<void> => {
    try {
      await child.freeze();
      mark(`writer stopped (appended ${child.progress.appended}, acked ${child.progress.acked}, durable ${child.progress.durable ?? '-'})`);
      await devices.cutPower();
      mark('POWER CUT: table drop_writes');
    } finally {
      await child.kill();
      devices.lab.stack.forget(registration);
    }
    mark(`writer killed (exit ${child.exited?.code ?? '-'}, signal ${child.exited?.signal ?? '-'})`);
  };
  // fsck's report of each remount after a cut (a second life has two cuts); the last one is the
  // verdict's, since the final recovery ran on what it left.
  let fsck: FsckReport | undefined;
  const remount = async (): Promise<void> => {
    await devices.unmount();
    await devices.heal();
    fsck = await devices.fsckAfterCut();
    if (fsck) mark(`fsck before the mount: ${describeFsck(fsck)}`);
    await devices.mount();
    mark('remounted on the pass-through table');
  };
  // A second life (a `restart` step): the first life's events and what its recovery returned.
  let firstLife: { rawEvents: string; recovery: Recovery } | undefined;
  // The drop table goes into the inactive slot while the writer runs, once no later step loads
  // a table of its own (devices.preloadCut).
  const lastTableStep = plan.steps.map(changesDevice).lastIndexOf(true);
  let cut = false;
  try {
    for (const [i, step] of plan.steps.entries()) {
      if (i === lastTableStep + 1) {
        await devices.preloadCut();
        mark('drop_writes table loaded (inactive)');
      }
      switch (step.kind) {
        case 'wait': {
          const outcome = await child.waitFor(step.until, WAIT_LIMIT_MS);
          mark(`wait ${JSON.stringify(step.until)}: ${outcome} (appended ${child.progress.appended}, acked ${child.progress.acked})`);
          if (outcome === 'timed-out' && step.until.kind !== 'failed')
            notes.push(`trigger ${step.until.kind} not reached within ${WAIT_LIMIT_MS} ms; cut anyway`);
          break;
        }
        case 'pause':
          await new Promise((resolve) => setTimeout(resolve, step.ms));
          mark(`paused ${step.ms} ms`);
          break;
        case 'fail-writes':
          await devices.failWrites();
          mark('table: error_writes');
          break;
        case 'fail-wal-blocks': {
          const bad = await devices.failBlocksOf(dir);
          const sectors = bad.reduce((n, r) => n + r.length, 0);
          mark(`table: writes to the WAL's ${bad.length} extents (${sectors} sectors) fail, flushes work`);
          if (bad.length === 0) notes.push('the WAL files had no blocks on the device yet: no write was made to fail');
          break;
        }
        case 'heal':
          await devices.heal();
          mark('table: pass-through');
          break;
        case 'restart': {
          if (firstLife !== undefined) throw new CrashError('TRIAL_SETUP_FAILED', 'a scenario may give the WAL one second life, not more');
          await cutAndRemount();
          await remount();
          const recovery = await recoverWal(dir, { strategy: plan.strategy, segmentSize: writer.segmentSize, preallocate: writer.preallocate });
          firstLife = { rawEvents: child.rawEvents, recovery };
          mark(
            recovery.status === 'recovered'
              ? `first life recovered ${recovery.entries.length} entries; second life starts`
              : `first life's recovery failed: ${recovery.code}`,
          );
          if (recovery.status === 'failed') {
            cut = true;
            break;
          }
          ({ child, registration } = ctx.writers.launch(writer));
          break;
        }
      }
      if (cut || child.exited !== undefined) break;
    }
    if (!cut && child.exited !== undefined) {
      const exit = child.exited;
      const startedEvent = child.rawEvents.includes('"type":"started"');
      if (!startedEvent) {
        throw new CrashError(
          'WRITER_FAILED',
          `the writer exited (code ${exit.code}, signal ${exit.signal}) before opening the WAL: ${child.stderr.trim().split('\n').slice(-5).join(' | ') || 'no output'}`,
        );
      }
      notes.push(`the writer exited by itself before the cut (code ${exit.code})`);
    }
  } catch (error) {
    // Whatever happened above, the writer must not outlive the trial.
    await child.kill();
    devices.lab.stack.forget(registration);
    throw error;
  }
  if (!cut) {
    await cutAndRemount();
    if (ctx.warmNext) ctx.writers.warm();
    await remount();
  } else if (ctx.warmNext) {
    ctx.writers.warm();
  }

  const walCopy = path.join(ctx.scratchDir, `${name}-wal`);
  rmSync(walCopy, { recursive: true, force: true });
  cpSync(dir, walCopy, { recursive: true });
  const recovery = await recoverWal(dir, { strategy: plan.strategy, segmentSize: writer.segmentSize, preallocate: writer.preallocate });
  if (recovery.status === 'failed' && recovery.code === 'WAL_NATIVE_MISSING') {
    // Not the WAL's verdict: this checkout cannot load the WAL at all.
    throw new CrashError('NOT_BUILT', recovery.message);
  }
  mark(
    recovery.status === 'recovered'
      ? `recovered ${recovery.entries.length} entries${recovery.corruption ? ` after reported corruption (${recovery.corruption.code})` : ''}`
      : `recovery failed: ${recovery.code}`,
  );

  const lastRaw = child.rawEvents;
  const rawEvents = firstLife === undefined || cut ? (firstLife?.rawEvents ?? lastRaw) : firstLife.rawEvents + lastRaw;
  const judged = judgeLives(firstLife, cut ? null : lastRaw, recovery);
  const { verdict, history } = judged;
  const reasons = reasonsOf(verdict, judged.failedRecovery).map((r) => `${judged.life}${r}`);
  const failures = history.filter((e) => e.type === 'failed');
  const firstFailure = failures[0];
  if (firstFailure?.type === 'failed') {
    const ack = verdict.checks.acknowledgement;
    const after = ack.status === 'violated' ? ack.ackedAfterSyncFailure.count : 0;
    notes.push(
      `the WAL reported ${firstFailure.code}${firstFailure.seq !== undefined ? ` at seq ${firstFailure.seq}` : ''} (${failures.length} failed calls in all); acks after it: ${after}`,
    );
  }
  if (recovery.status === 'recovered' && recovery.corruption) notes.push(`recovery reported ${recovery.corruption.code}: ${recovery.corruption.message}`);
  if (fsck) notes.push(`fsck before the mount after the cut: ${describeFsck(fsck)}`);
  const status = crashStatus(verdict, judged.failedRecovery !== null, fsck);
  if (status === 'fs-failed' && fsck) reasons.push(fsFailureReason(fsck));
  rmSync(dir, { recursive: true, force: true });
  const r = recovery;
  const outcome: WalTrialOutcome = {
    mode: 'flakey',
    strategy: plan.strategy,
    groupCommit: plan.groupCommit,
    scenario: plan.scenario,
    index: plan.index,
    trialSeed: plan.trialSeed,
    status,
    reasons,
    notes,
    verdict,
    recovery:
      r.status === 'recovered'
        ? { status: 'recovered', entries: r.entries.length, corruption: r.corruption }
        : { status: 'failed', entries: 0, code: r.code, message: r.message, corruption: r.corruption },
    durationMs: Date.now() - started,
    timeline,
    ...(fsck ? { fsck } : {}),
    artifactDir: null,
  };
  return {
    outcome,
    evidence: {
      plan,
      writer,
      recovered: r.status === 'recovered' ? r.entries : [],
      tables: [...devices.swaps],
      rawEvents,
      writerStderr: child.stderr,
      writerExit: { code: child.exited?.code ?? null, signal: child.exited?.signal ?? null },
      walCopy,
      lives: firstLife === undefined ? null : { first: { rawEvents: firstLife.rawEvents, recovery: lifeRecovery(firstLife.recovery) }, secondJudged: !cut },
    },
  };
}
