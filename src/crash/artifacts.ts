import { closeSync, cpSync, ftruncateSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { FsckReport } from '../dm/index.js';
import type { FlakeyEvidence } from './flakey/trial.js';
import type { TableSwap } from './flakey/device-stack.js';
import { subjectLabel, type TrialOutcome } from './outcome.js';

// The artifact directory of a violated trial, one layout for both modes: everything needed to look
// again, and for `crashtest recheck DIR` to judge again (flakey: no VM and no root; log-writes:
// root for the loop mounts, no VM).
// Every mode:
//   command.txt      the command of the run, one that replays exactly this trial, and recheck's
//   verdict.json     the trial's outcome (src/crash/outcome.ts): status, reasons, notes, verdict
//   history.ndjson   the writer's event stream, verbatim
//   timeline.txt     what the harness did when, in ms from the trial's start
// flakey (one power cut):
//   plan.json        the trial's plan (run seed, trial seed, scenario, workload) and writer config
//   recovered.ndjson what recovery returned: {"seq":N,"digest":"..."} per line
//   dm-tables.txt    every flakey table loaded during the trial, in order
//   writer-stderr.txt
//   first-life.json  a two-life trial only: the first life's events and recovery, and whether the
//                    second life (history.ndjson after the first life's bytes) was judged
//   wal/             the WAL directory as the crash left it (before recovery opened it)
//   device.img       the filesystem image after the trial (sparse copy)
//   fsck.txt         (filesystems without a journal) each fsck run before the mount: command, exit code, output
// log-writes (every crash state of one recording):
//   recording/       the recording itself (log.bin.gz, events.jsonl, meta.json)
//   states.json      the violated crash states: id, last visible mark, reasons, commands
// a target (issue 14: one power cut of a program other than the WAL; recheck does not apply):
//   history.ndjson   the program's fd-3 lines, verbatim (its acknowledgements)
//   check.txt        the check command's stdout, then its stderr
//   writer-stderr.txt the program's stdout and stderr
//   data/            the data directory as the crash left it (before the check opened it)
//   data2/           a setting with two devices: its directory on the second one, likewise
//   device.img, dm-tables.txt as for flakey (with two devices: both filesystems, the image's
//                    halves, as the two linear devices over the one flakey device map it)
// a target in log-writes mode (every crash state of one recording of its program):
//   history.ndjson   the program's fd-3 lines, verbatim
//   recording/       the recording (log.bin.gz, history.json, lines.txt, meta.json)
//   states.json      the violated crash states: id, last visible mark, reasons, commands

export const ARTIFACT_FILES = {
  plan: 'plan.json',
  command: 'command.txt',
  history: 'history.ndjson',
  recovered: 'recovered.ndjson',
  verdict: 'verdict.json',
  timeline: 'timeline.txt',
  tables: 'dm-tables.txt',
  stderr: 'writer-stderr.txt',
  wal: 'wal',
  image: 'device.img',
  recording: 'recording',
  states: 'states.json',
  fsck: 'fsck.txt',
  check: 'check.txt',
  data: 'data',
  data2: 'data2',
  firstLife: 'first-life.json',
} as const;

/** fsck's runs as fsck.txt keeps them: what ran, its exit code, and every word it said. */
export function formatFsck(report: FsckReport): string {
  return report.runs.map((r) => `# ${r.command}\n# exit ${r.exitCode}\n${r.output}\n`).join('\n');
}

/** The directory name of a trial's artifact inside its run's directory. */
export function artifactName(outcome: TrialOutcome): string {
  return `${subjectLabel(outcome).replace(/[^A-Za-z0-9+._-]+/g, '-')}-trial-${outcome.index}`;
}

/** The command lines an artifact keeps. */
export interface ArtifactCommands {
  /** The crashtest command line of this run. */
  run: string;
  /** The command that replays exactly this trial. */
  replay: string;
  /** Whether `crashtest recheck DIR` can judge the artifact again (not for targets). */
  recheck?: boolean;
}

// The files every mode writes. `extra` goes into verdict.json beside the outcome.
function writeTrialFiles(dir: string, outcome: TrialOutcome, rawEvents: string, commands: ArtifactCommands, extra: Record<string, unknown> = {}): void {
  mkdirSync(dir, { recursive: true });
  const file = (name: string) => path.join(dir, name);
  writeFileSync(
    file(ARTIFACT_FILES.command),
    `# the run\n${commands.run}\n# this trial alone\n${commands.replay}\n` +
      (commands.recheck === false ? '' : `# judge it again\npnpm crashtest recheck ${dir}\n`),
  );
  writeFileSync(file(ARTIFACT_FILES.verdict), `${JSON.stringify({ ...outcome, artifactDir: dir, ...extra }, null, 2)}\n`);
  writeFileSync(file(ARTIFACT_FILES.history), rawEvents);
  writeFileSync(file(ARTIFACT_FILES.timeline), outcome.timeline.map((t) => `${String(t.atMs).padStart(7)} ms  ${t.what}\n`).join(''));
  if (outcome.fsck) writeFileSync(file(ARTIFACT_FILES.fsck), formatFsck(outcome.fsck));
}

/** Copy `from` to `to` leaving holes where `from` has zero-filled 64 KiB blocks. */
export function copySparse(from: string, to: string): number {
  const input = openSync(from, 'r');
  const output = openSync(to, 'w');
  const block = Buffer.alloc(64 * 1024);
  let written = 0;
  try {
    const size = fstatSync(input).size;
    for (let offset = 0; offset < size;) {
      const n = readSync(input, block, 0, Math.min(block.length, size - offset), offset);
      if (n === 0) break;
      let zero = true;
      for (let i = 0; i < n; i += 8) {
        if (block.readBigUInt64LE(i) !== 0n) {
          zero = false;
          break;
        }
      }
      if (!zero) {
        writeSync(output, block, 0, n, offset);
        written += n;
      }
      offset += n;
    }
    ftruncateSync(output, size);
  } finally {
    closeSync(input);
    closeSync(output);
  }
  return written;
}

export interface FlakeyArtifactInput {
  outcome: TrialOutcome;
  evidence: FlakeyEvidence;
  commands: ArtifactCommands;
  /** The device image, when the filesystem is unmounted and the image can be copied. */
  image?: string;
  /** `dmsetup table` of the flakey device now, when it could be read. */
  liveTable?: string;
}

/** Write the artifact directory `dir` of a violated flakey trial. */
export function saveFlakeyArtifacts(dir: string, input: FlakeyArtifactInput): void {
  const { outcome, evidence } = input;
  writeTrialFiles(dir, outcome, evidence.rawEvents, input.commands, { writerExit: evidence.writerExit });
  const file = (name: string) => path.join(dir, name);
  writeFileSync(file(ARTIFACT_FILES.plan), `${JSON.stringify({ plan: evidence.plan, writer: evidence.writer }, null, 2)}\n`);
  writeFileSync(file(ARTIFACT_FILES.recovered), evidence.recovered.map((e) => `${JSON.stringify(e)}\n`).join(''));
  const tables = evidence.tables.map((t) => `# ${t.atMs} ms: ${t.what}\n${t.table}\n`).join('');
  writeFileSync(file(ARTIFACT_FILES.tables), `${tables}${input.liveTable ? `# live table when the artifact was saved\n${input.liveTable}\n` : ''}`);
  writeFileSync(file(ARTIFACT_FILES.stderr), evidence.writerStderr);
  cpSync(evidence.walCopy, file(ARTIFACT_FILES.wal), { recursive: true });
  if (evidence.lives) writeFileSync(file(ARTIFACT_FILES.firstLife), `${JSON.stringify(evidence.lives, null, 2)}\n`);
  if (input.image) copySparse(input.image, file(ARTIFACT_FILES.image));
}

/** One violated crash state of a recording, as states.json keeps it. */
export interface ViolatedStateRecord {
  id: string;
  /** 'fs-failed' when the loss is the filesystem's (fsck repaired the state's image first). */
  status?: 'violated' | 'fs-failed';
  fsck?: FsckReport;
  lastMark: string | null;
  reasons: string[];
  commands: string[];
}

export interface RecordingArtifactInput {
  outcome: TrialOutcome;
  /** The recording's directory (log.bin.gz, events.jsonl, meta.json). */
  recording: string;
  /** The writer's event stream (the recording's events.jsonl). */
  rawEvents: string;
  checked: number;
  violatedStates: number;
  states: ViolatedStateRecord[];
  commands: ArtifactCommands;
}

/** Write the artifact directory `dir` of a violated log-writes trial (of the WAL, or of a target: no recheck then). */
export function saveRecordingArtifacts(dir: string, input: RecordingArtifactInput): void {
  writeTrialFiles(dir, input.outcome, input.rawEvents, input.commands);
  cpSync(input.recording, path.join(dir, ARTIFACT_FILES.recording), { recursive: true });
  const states = { checked: input.checked, violatedStates: input.violatedStates, states: input.states };
  writeFileSync(path.join(dir, ARTIFACT_FILES.states), `${JSON.stringify(states, null, 2)}\n`);
}

/** Read one artifact file as text (recheck). */
export function readArtifact(dir: string, name: string): string {
  return readFileSync(path.join(dir, name), 'utf8');
}

export interface TargetArtifactInput {
  outcome: TrialOutcome;
  /** The program's fd-3 lines. */
  rawLines: string;
  programOutput: string;
  check: { stdout: string; stderr: string };
  /** A copy of the data directory as the crash left it. */
  dataCopy: string;
  /** A setting with two devices: the copy of its directory on the second one. */
  dataCopy2?: string;
  tables: readonly TableSwap[];
  commands: ArtifactCommands;
  image?: string;
}

/** Write the artifact directory `dir` of a target trial whose setting broke its contract. */
export function saveTargetArtifacts(dir: string, input: TargetArtifactInput): void {
  writeTrialFiles(dir, input.outcome, input.rawLines, { ...input.commands, recheck: false });
  const file = (name: string) => path.join(dir, name);
  writeFileSync(file(ARTIFACT_FILES.check), `# stdout\n${input.check.stdout}\n# stderr\n${input.check.stderr}\n`);
  writeFileSync(file(ARTIFACT_FILES.stderr), input.programOutput);
  writeFileSync(file(ARTIFACT_FILES.tables), input.tables.map((t) => `# ${t.atMs} ms: ${t.what}\n${t.table}\n`).join(''));
  cpSync(input.dataCopy, file(ARTIFACT_FILES.data), { recursive: true });
  if (input.dataCopy2 !== undefined) cpSync(input.dataCopy2, file(ARTIFACT_FILES.data2), { recursive: true });
  if (input.image) copySparse(input.image, file(ARTIFACT_FILES.image));
}
