import { writeFileSync } from 'node:fs';
import { isStrategy, markLabel, writeEvent, type Strategy, type WorkloadEvent } from '../../workload/events.js';
import { runWriter } from '../../workload/writer.js';
import { EVENT_FD, parseWriterConfig, WRITER_EXIT, WriterConfigError } from '../../workload/writer-config.js';
import { MARK_METHODS, openMarker, type MarkMethod } from './marker.js';

// The writer child of a dm-log-writes recording: `node marked-writer.mjs '<config json>'`, the
// workload writer (src/workload/writer.ts) with one addition: after reporting each event that makes
// a promise (acked, durable, truncated) it puts the mark markLabel(event) into the log, so every
// crash state knows which promises had been made before it (src/oracle/history-at-crash.ts).
//
// `claimStrategy` makes a deliberately WRONG writer for the harness's own tests: the WAL runs the
// configured strategy (say none) while the history claims another (say fsync). Its acks then
// promise a durability nobody provided, and the crash-state check must catch it.

/** The recording part of the child's configuration, next to the WriterConfig fields. */
export interface RecordWriterOptions {
  dmName: string;
  markMethod: MarkMethod;
  /** Report this strategy in the `started` event instead of the one the WAL runs (a lying writer). */
  claimStrategy: Strategy | null;
  /** Where the mark figures are written when the writer ends. */
  statsFile: string;
}

function parseRecordOptions(value: unknown): RecordWriterOptions {
  const r = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (typeof r.dmName !== 'string' || r.dmName === '') throw new WriterConfigError('record.dmName must be a dm device name');
  if (!MARK_METHODS.includes(r.markMethod as MarkMethod)) throw new WriterConfigError(`record.markMethod must be ${MARK_METHODS.join(' or ')}`);
  if (r.claimStrategy !== null && !isStrategy(r.claimStrategy)) throw new WriterConfigError('record.claimStrategy must be a strategy or null');
  if (typeof r.statsFile !== 'string' || r.statsFile === '') throw new WriterConfigError('record.statsFile must be a path');
  return { dmName: r.dmName, markMethod: r.markMethod as MarkMethod, claimStrategy: r.claimStrategy, statsFile: r.statsFile };
}

async function main(): Promise<number> {
  let parsed;
  let record: RecordWriterOptions;
  try {
    const raw = JSON.parse(process.argv[2] ?? 'null') as Record<string, unknown>;
    const { record: recordRaw, ...rest } = raw ?? {};
    record = parseRecordOptions(recordRaw);
    parsed = parseWriterConfig(rest);
  } catch (error) {
    const message = error instanceof WriterConfigError || error instanceof SyntaxError ? error.message : String(error);
    process.stderr.write(`marked-writer: bad configuration: ${message}\n`);
    return WRITER_EXIT.badConfig;
  }
  const marker = openMarker(record.dmName, record.markMethod);
  const claim = record.claimStrategy;
  const emit = (event: WorkloadEvent): void => {
    const reported: WorkloadEvent =
      event.type === 'started' && claim !== null ? { ...event, strategy: claim, groupCommit: false, periodMs: claim === 'periodic' ? (event.periodMs ?? 100) : null, workload: { ...event.workload, actualStrategy: event.strategy } } : event;
    writeEvent(EVENT_FD, reported);
    const label = markLabel(event);
    if (label !== null) marker.mark(label);
  };
  let code: number;
  try {
    const result = await runWriter(parsed, emit);
    code = result.status === 'done' ? WRITER_EXIT.done : WRITER_EXIT.seqMismatch;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    writeEvent(EVENT_FD, { type: 'failed', code: 'WRITER_CRASHED', message, t: Date.now() });
    process.stderr.write(`marked-writer: ${message}\n`);
    code = WRITER_EXIT.error;
  }
  writeFileSync(record.statsFile, JSON.stringify(await marker.close()));
  return code;
}

main().then((code) => {
  process.exitCode = code;
});
