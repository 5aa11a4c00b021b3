import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { selectionOf } from './selection.js';
import type { DeviceLab } from '../../dm/index.js';
import { CrashError } from '../crash-error.js';
import { openMarker } from '../record/marker.js';
import { logFacts, loggedFilesystem, saveLog } from '../record/session.js';
import { ProgramChild } from './program-child.js';
import { ackMark, PREPARED_MARK, type TargetRecordingMeta, type TargetRecordSpec } from './recording.js';
import { awaitFirstAck, prepareTarget, tail } from './trial.js';

// One dm-log-writes recording of a target's program, made where the target exists (the microVM
// here; recorder-main.ts runs it): a fresh filesystem made and mounted through a log-writes
// device, the mark `mkfs`, the data directory and the target's prepare made durable, the mark
// `prepared`, then the program, whose every acknowledgement gets the mark ack-<n> the moment its
// fd-3 line arrives. The mark goes in by the DM_TARGET_MSG ioctl (synchronous), and only then is
// the program answered on fd 4 (src/targets/protocol.ts): a program that waits for the answer
// (the built-in workloads do) has its acknowledgement pinned at that point of the log, after the
// writes and flushes its commit made and before anything it does next. After `spec.acks`
// acknowledgements the program is killed unanswered, the filesystem unmounted, the mark `end`
// logged, and the log copied out (recording.ts has the layout).

/** Where the data directory lives on the recorded filesystem. */
const DATA_DIR = 'target';
/** A program that takes longer than this for the acknowledgements asked is cut short (the recording says why). */
const RECORD_LIMIT_MS = 180_000;

/**
 * `scratch`: $POWERCUT_SCRATCH, a directory outside the logged device that the recordings of one
 * recorder run share (the postgres target keeps its initdb template there, as in a power-cut run,
 * src/crash/target/trial.ts), searchable by a server's own user.
 */
export async function recordTargetOnce(
  lab: DeviceLab,
  spec: TargetRecordSpec,
  program: string[],
  outRoot: string,
  scratch: string,
): Promise<TargetRecordingMeta> {
  const started = Date.now();
  const t = spec.target;
  const selection = selectionOf(t, t.setting);
  const setting = selection.settings[0];
  if (setting === undefined) throw new CrashError('BAD_OPTION', `${t.name} has no setting ${t.setting}`);
  // Searchable, not listable: a target's server that runs as a user of its own (postgres) must
  // reach its data directory on the mount in here.
  chmodSync(lab.dir, 0o711);
  const { lw, logImage, mnt, imageBytes, dir } = await loggedFilesystem(lab, spec.name, spec.fs, spec.imageBytes, DATA_DIR);
  const env = { ...process.env, POWERCUT_DATA: dir, POWERCUT_SCRATCH: scratch };
  const cwd = process.cwd();
  const commands = selection.target.commands(setting, { dir, seed: spec.seed, program });
  await prepareTarget(t.name, commands, env, cwd, dir);
  await lw.mark(PREPARED_MARK);

  const marker = openMarker(lw.name, 'ioctl');
  let shortBecause: string | null = null;
  let enough = false;
  // The callback runs on the program's fd-3 lines, after spawn returned.
  const child: ProgramChild = ProgramChild.spawn(
    commands.run,
    env,
    cwd,
    started,
    (ack, n) => {
      marker.mark(ackMark(n));
      // The last one asked for stays unanswered: the program waits there until it is killed.
      if (n + 1 >= spec.acks && ack.atMs - (child.acks[0]?.atMs ?? ack.atMs) >= (spec.minSpanMs ?? 0)) {
        enough = true;
        child.stopReplies();
      }
    },
    { markedReply: true },
  );
  const registration = lab.trackProcess(child.pid, `${t.name} program`, { group: true });
  try {
    await awaitFirstAck(child);
    const until = Date.now() + RECORD_LIMIT_MS;
    let reached: Awaited<ReturnType<ProgramChild['waitForAcks']>> = 'reached';
    while (!enough && reached === 'reached') reached = await child.waitForAcks(child.acks.length + 1, until - Date.now());
    if (reached === 'exited') shortBecause = `the program ended after ${child.acks.length} acknowledgements: ${tail(child.stderr)}`;
    if (reached === 'timed-out') shortBecause = `${child.acks.length} acknowledgements in ${RECORD_LIMIT_MS / 1000} s`;
    const bad = child.badLine();
    if (bad !== undefined) throw new CrashError('WRITER_FAILED', `the run command wrote a line to fd 3 that does not parse: ${bad}`);
  } finally {
    await child.kill();
    lab.stack.forget(registration);
  }
  const markStats = await marker.close();
  await lab.umount(mnt);
  await lw.mark('end');
  const out = path.join(outRoot, spec.name);
  mkdirSync(out, { recursive: true });
  const log = await saveLog(lw, logImage, out);
  writeFileSync(path.join(out, 'history.json'), `${JSON.stringify({ acks: child.acks, intents: child.intents })}\n`);
  writeFileSync(path.join(out, 'lines.txt'), child.rawLines);
  const exit = child.exited ?? { code: null, signal: null };
  const meta: TargetRecordingMeta = {
    format: 'powercut-target-recording-v1',
    spec: { ...spec, imageBytes },
    dataDir: DATA_DIR,
    commands: { run: commands.run.display, check: commands.check.display },
    ...logFacts(log, imageBytes, markStats),
    programExit: { code: exit.code, signal: exit.signal },
    programStderr: child.stderr.slice(-4000),
    shortBecause,
    recordedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
  };
  writeFileSync(path.join(out, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
  return meta;
}
