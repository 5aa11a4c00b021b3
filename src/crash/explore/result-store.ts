import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Coverage, EnumerateOptions } from '../../dm/log-writes/index.js';
import { nativeAddonFile } from '../../wal/native.js';
import { CrashError } from '../crash-error.js';
import type { RecordingMeta } from '../record/session.js';
import type { Shard, StateResult } from './check-report.js';

// A campaign's results on disk (`--store DIR`), so an interrupted or repeated run skips what is
// already judged and shards run on different machines can be merged (merge.ts). Per recording:
//
//   DIR/<name>-<hash16>.json    the header: recording name, content hash, meta, the enumeration
//                               (options, coverage, every state id in order), the shard, checker
//   DIR/<name>-<hash16>.jsonl   one line per judged state: {"checker", "id", "result"}
//
// A result is reused only under the same key: the recording's content hash, the state id (which
// names the state's image and crash moment alone, whatever the enumeration options) and the
// checker version (CHECK_FORMAT, the second-life policy and a hash of the WAL build under test,
// so a rebuilt WAL is checked again). Lines are appended one state at a time; a line torn by a
// kill is ignored when read back.

export const STORE_FORMAT = 'powercut-states-v1' as const;

/** The header of a recording's results in a store. */
export interface StoreHeader {
  format: typeof STORE_FORMAT;
  recording: string;
  recordingHash: string;
  checker: string;
  meta: RecordingMeta;
  enumerate: EnumerateOptions;
  coverage: Coverage;
  /** Every state id of the enumeration, in order (all shards'). */
  states: string[];
  shard: Shard | null;
}

interface StoredLine {
  checker: string;
  id: string;
  result: StateResult;
}

let walBuild: string | undefined;

/** The version of the checker that judges states, part of every stored result's key. */
export function checkerVersion(checkFormat: number, secondLife: string): string {
  walBuild ??= createHash('sha256').update(readFileSync(nativeAddonFile())).digest('hex').slice(0, 16);
  return `check-v${checkFormat}/second-life-${secondLife}/wal-${walBuild}`;
}

/** sha256 of a recording's files: its identity in a store, wherever its directory is. */
export function recordingHash(dir: string): string {
  const hash = createHash('sha256');
  for (const file of ['log.bin.gz', 'events.jsonl', 'meta.json']) hash.update(file).update(readFileSync(path.join(dir, file)));
  return hash.digest('hex');
}

function baseName(recording: string, hash: string): string {
  return `${recording.replace(/[^A-Za-z0-9._-]+/g, '_')}-${hash.slice(0, 16)}`;
}

/** A store directory of results (created when missing). */
export class ResultStore {
  constructor(readonly dir: string) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (cause) {
      throw new CrashError('BAD_OPTION', `--store ${dir}: ${(cause as Error).message}`, { cause });
    }
  }

  /** Results already judged for this recording under this checker, by state id. */
  known(recording: string, hash: string, checker: string): Map<string, StateResult> {
    const known = new Map<string, StateResult>();
    for (const line of readLines(path.join(this.dir, `${baseName(recording, hash)}.jsonl`))) if (line.checker === checker) known.set(line.id, line.result);
    return known;
  }

  /** Write the header of a run (replacing an earlier run's, whose results stay). */
  writeHeader(header: StoreHeader): void {
    const file = path.join(this.dir, `${baseName(header.recording, header.recordingHash)}.json`);
    writeFileSync(`${file}.tmp`, `${JSON.stringify(header)}\n`);
    renameSync(`${file}.tmp`, file);
  }

  /** Append one judged state. */
  append(header: Pick<StoreHeader, 'recording' | 'recordingHash' | 'checker'>, result: StateResult): void {
    const line: StoredLine = { checker: header.checker, id: result.id, result };
    appendFileSync(path.join(this.dir, `${baseName(header.recording, header.recordingHash)}.jsonl`), `${JSON.stringify(line)}\n`);
  }

  /** Every header in the store. */
  headers(): StoreHeader[] {
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => {
        const file = path.join(this.dir, f);
        let header: StoreHeader;
        try {
          header = JSON.parse(readFileSync(file, 'utf8')) as StoreHeader;
        } catch (cause) {
          throw new CrashError('BAD_OPTION', `${file}: not a store header (${(cause as Error).message})`, { cause });
        }
        if ((header.format as string) !== STORE_FORMAT) throw new CrashError('BAD_OPTION', `${file}: not a ${STORE_FORMAT as string} header`);
        return header;
      });
  }
}

function readLines(file: string): StoredLine[] {
  if (!existsSync(file)) return [];
  const lines: StoredLine[] = [];
  for (const text of readFileSync(file, 'utf8').split('\n')) {
    if (text === '') continue;
    try {
      lines.push(JSON.parse(text) as StoredLine);
    } catch {
      // A line torn by a kill mid-append: that state is checked again.
    }
  }
  return lines;
}
