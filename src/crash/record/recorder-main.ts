import { chmodSync, closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureTargets, withDeviceLab } from '../../dm/index.js';
import { outcomeFile, RECORD_LINE, recordOnce, type RecordingMeta, type RecordOutcome, type RecordSpec } from './session.js';
import { recordTargetOnce } from '../target/record.js';
import type { TargetRecordingMeta, TargetRecordSpec } from '../target/recording.js';

// Entry of the recording step where dm-log-writes exists (bundled by record-run.ts and run in the
// microVM, or on a host kernel that has the target): `node recorder-main.mjs SPECS.json OUT_ROOT`.
// Each spec gets a fresh device stack; one line per recording on stdout, and OUT_ROOT/index.json
// lists the metas (or the error) in spec order for the host. A spec of kind 'target' records a
// target's program (src/crash/target/record.ts, the built-in ones through program-main.mjs
// beside this file); the others the WAL's writer. Each recording's files and its outcome
// (outcomeFile) are fsynced before its line is printed: the output root is a 9p share mounted
// cache=loose in the guest, and the host checks a recording as soon as its line arrives, while
// the next one is being made.

function fsyncFile(file: string): void {
  const fd = openSync(file, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Write `outcome` as recording `n`'s outcome file, after fsyncing the recording's own files. */
function publishOutcome(outRoot: string, n: number, name: string, outcome: RecordOutcome<RecordingMeta | TargetRecordingMeta>): void {
  if (outcome.status === 'recorded') {
    const dir = path.join(outRoot, name);
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isFile()) fsyncFile(path.join(dir, entry.name));
  }
  const file = outcomeFile(outRoot, n);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(outcome));
  fsyncFile(file);
}

async function main(): Promise<number> {
  const [specsFile, outRoot] = process.argv.slice(2);
  if (specsFile === undefined || outRoot === undefined) {
    process.stderr.write('usage: recorder-main SPECS.json OUT_ROOT\n');
    return 2;
  }
  const specs = JSON.parse(readFileSync(specsFile, 'utf8')) as (RecordSpec | TargetRecordSpec)[];
  const { missing } = await ensureTargets(['log-writes']);
  if (missing.length > 0) {
    process.stderr.write('record: this kernel has no dm-log-writes target\n');
    return 2;
  }
  const here = path.dirname(fileURLToPath(import.meta.url));
  const writerScript = path.join(here, 'marked-writer.mjs');
  const program = [process.execPath, path.join(here, 'program-main.mjs')];
  const outcomes: RecordOutcome<RecordingMeta | TargetRecordingMeta>[] = [];
  // $POWERCUT_SCRATCH of the target recordings: kept across them (postgres makes its initdb
  // template there once), off the logged devices, searchable by a server's own user.
  const scratch = mkdtempSync(path.join(tmpdir(), 'powercut-target-scratch-'));
  chmodSync(scratch, 0o711);
  try {
    await recordEach(specs, outRoot, writerScript, program, scratch, outcomes);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  writeFileSync(path.join(outRoot, 'index.json'), JSON.stringify(outcomes, null, 2));
  return outcomes.every((o) => o.status === 'recorded') ? 0 : 1;
}

async function recordEach(
  specs: (RecordSpec | TargetRecordSpec)[],
  outRoot: string,
  writerScript: string,
  program: string[],
  scratch: string,
  outcomes: RecordOutcome<RecordingMeta | TargetRecordingMeta>[],
): Promise<void> {
  for (const [n, spec] of specs.entries()) {
    let outcome: RecordOutcome<RecordingMeta | TargetRecordingMeta>;
    let line: string;
    try {
      if ('kind' in spec && spec.kind === 'target') {
        const meta = await withDeviceLab((lab) => recordTargetOnce(lab, spec, program, outRoot, scratch));
        outcome = { status: 'recorded', meta };
        line = `${spec.name}: ${meta.entries} log entries, ${meta.marks} marks, ${(meta.logBytes / 2 ** 20).toFixed(1)} MiB log, ${meta.markStats.marks} acknowledgements marked${meta.shortBecause ? ` (short: ${meta.shortBecause})` : ''}, ${(meta.durationMs / 1000).toFixed(1)} s`;
      } else {
        const meta = await withDeviceLab((lab) => recordOnce(lab, spec as RecordSpec, writerScript, outRoot));
        outcome = { status: 'recorded', meta };
        const m = meta.markStats;
        line =
          `${spec.name}: ${meta.entries} log entries, ${meta.marks} marks, ${(meta.logBytes / 2 ** 20).toFixed(1)} MiB log, ` +
          `${m.marks} ${m.method} marks at ${m.marks > 0 ? ((m.totalMs / m.marks) * 1000).toFixed(0) : '-'} us each (max ${(m.maxMs * 1000).toFixed(0)} us), ${(meta.durationMs / 1000).toFixed(1)} s`;
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      outcome = { status: 'failed', name: spec.name, message };
      line = `${spec.name}: FAILED: ${message}`;
    }
    outcomes.push(outcome);
    publishOutcome(outRoot, n, spec.name, outcome);
    process.stdout.write(`${RECORD_LINE} ${line}\n`);
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`record: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  },
);
