import { closeSync, cpSync, ftruncateSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { TrialResult } from './flakey/trial.js';

// The artifact directory of a violated trial: everything needed to look again, and for `crashtest
// recheck DIR` to judge again without a VM.
//   plan.json        the trial's plan (run seed, trial seed, scenario, workload) and writer config
//   command.txt      the command of the run, and one that replays exactly this trial
//   history.ndjson   the writer's event stream, verbatim
//   recovered.ndjson what recovery returned: {"seq":N,"digest":"..."} per line
//   verdict.json     the oracle's verdict, the recovery outcome, reasons and notes
//   timeline.txt     what the harness did when, in ms from the trial's start
//   dm-tables.txt    every flakey table loaded during the trial, in order
//   writer-stderr.txt
//   wal/             the WAL directory as the crash left it (before recovery opened it)
//   device.img       the filesystem image after the trial (sparse copy)

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
} as const;

/** Copy `from` to `to` leaving holes where `from` has zero-filled 64 KiB blocks. */
export function copySparse(from: string, to: string): number {
  const input = openSync(from, 'r');
  const output = openSync(to, 'w');
  const block = Buffer.alloc(64 * 1024);
  let written = 0;
  try {
    const size = fstatSync(input).size;
    for (let offset = 0; offset < size; ) {
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

export interface ArtifactInput {
  result: TrialResult;
  /** The crashtest command line of this run (argv after the node/tsx prefix). */
  runCommand: string;
  replayCommand: string;
  /** The device image, when the filesystem is unmounted and the image can be copied. */
  image?: string;
  /** `dmsetup table` of the flakey device now, when it could be read. */
  liveTable?: string;
}

/** Write the artifact directory `dir` for a violated trial. */
export function saveArtifacts(dir: string, input: ArtifactInput): void {
  const { result } = input;
  mkdirSync(dir, { recursive: true });
  const file = (name: string) => path.join(dir, name);
  writeFileSync(file(ARTIFACT_FILES.plan), `${JSON.stringify({ plan: result.plan, writer: result.writer }, null, 2)}\n`);
  writeFileSync(file(ARTIFACT_FILES.command), `# the run\n${input.runCommand}\n# this trial alone\n${input.replayCommand}\n# judge it again\npnpm crashtest recheck ${dir}\n`);
  writeFileSync(file(ARTIFACT_FILES.history), result.rawEvents);
  const recovered = result.recovery.status === 'recovered' ? result.recovery.entries : [];
  writeFileSync(file(ARTIFACT_FILES.recovered), recovered.map((e) => `${JSON.stringify(e)}\n`).join(''));
  // The entries themselves are in recovered.ndjson; the verdict file keeps their count.
  const recovery = result.recovery.status === 'recovered' ? { ...result.recovery, entries: result.recovery.entries.length } : result.recovery;
  writeFileSync(
    file(ARTIFACT_FILES.verdict),
    `${JSON.stringify({ status: result.status, reasons: result.reasons, notes: result.notes, recovery, verdict: result.verdict, writerExit: result.writerExit }, null, 2)}\n`,
  );
  writeFileSync(file(ARTIFACT_FILES.timeline), result.timeline.map((t) => `${String(t.atMs).padStart(7)} ms  ${t.what}\n`).join(''));
  const tables = result.tables.map((t) => `# ${t.atMs} ms: ${t.what}\n${t.table}\n`).join('');
  writeFileSync(file(ARTIFACT_FILES.tables), `${tables}${input.liveTable ? `# live table when the artifact was saved\n${input.liveTable}\n` : ''}`);
  writeFileSync(file(ARTIFACT_FILES.stderr), result.writerStderr);
  cpSync(result.walCopy, file(ARTIFACT_FILES.wal), { recursive: true });
  if (input.image) copySparse(input.image, file(ARTIFACT_FILES.image));
}

/** Read one artifact file as text (recheck). */
export function readArtifact(dir: string, name: string): string {
  return readFileSync(path.join(dir, name), 'utf8');
}
