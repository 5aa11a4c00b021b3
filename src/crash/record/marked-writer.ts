import { writeFileSync } from 'node:fs';
import { isStrategy, markLabel, writeEvent, type Strategy, type WorkloadEvent } from '../../workload/events.js';
import { runWriter } from '../../workload/writer.js';
import { EVENT_FD, parseWriterConfig, WRITER_EXIT, WriterConfigError } from '../../workload/writer-config.js';
import { MARK_METHODS, openMarker, type MarkMethod } from './marker.js';

// The writer child of a dm-log-writes recording: `node marked-writer.mjs '<config json>'`, the
// workload writer (src/workload/writer.ts) with one addition: each event that makes a promise
// (acked, durable, truncating, truncated) has the mark markLabel(event) in the log, so every crash state knows
// which promises had been made before it (src/oracle/history-at-crash.ts).
//
// Where the mark comes from decides what a recording can show. A mark sent from here, after JS
// learned of the promise, races the device: a WAL that acknowledges before its sync completes may
// have the FLUSH logged before the mark, and no state then shows the early promise. With
// `publishMarks` the native thread that publishes an acknowledgement or a durable watermark sends
// its mark first (WAL option publishMarks: the DM_TARGET_MSG ioctl, before the promise is visible),
// so a promise made before its sync always has a state between its mark and the FLUSH. The native
// side publishes ack-<seq> and durable-<seq> only: truncating-<before> (sent before truncate() is
// called, so before any of its writes) and truncated-<before> are still marked from here.
//
// `claimStrategy` makes a deliberately WRONG writer for the harness's own tests: the WAL runs the
// configured strategy (say none) while the history claims another (say fsync). Its acks then
// promise a durability nobody provided, and the crash-state check must catch it. It is passed to
// the workload writer as its announceStrategy, the one lying-writer knob of the project.

/** The recording part of the child's configuration, next to the WriterConfig fields. */
export interface RecordWriterOptions {
  dmName: string;
  markMethod: MarkMethod;
  /** Report this strategy in the `started` event instead of the one the WAL runs (a lying writer). */
  claimStrategy: Strategy | null;
  /** Where the mark figures are written when the writer ends. */
  statsFile: string;
  /** The native core marks acks and watermarks where it publishes them (WAL option publishMarks). */
  publishMarks: boolean;
}

/** Events whose marks the native core sends itself when publishMarks is on. */
const NATIVE_MARKED: ReadonlySet<WorkloadEvent['type']> = new Set(['acked', 'durable']);

function parseRecordOptions(value: unknown): RecordWriterOptions {
  const r = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (typeof r.dmName !== 'string' || r.dmName === '') throw new WriterConfigError('record.dmName must be a dm device name');
  if (!MARK_METHODS.includes(r.markMethod as MarkMethod)) throw new WriterConfigError(`record.markMethod must be ${MARK_METHODS.join(' or ')}`);
  if (r.claimStrategy !== null && !isStrategy(r.claimStrategy)) throw new WriterConfigError('record.claimStrategy must be a strategy or null');
  if (typeof r.statsFile !== 'string' || r.statsFile === '') throw new WriterConfigError('record.statsFile must be a path');
  if (typeof r.publishMarks !== 'boolean') throw new WriterConfigError('record.publishMarks must be a boolean');
  return { dmName: r.dmName, markMethod: r.markMethod as MarkMethod, claimStrategy: r.claimStrategy, statsFile: r.statsFile, publishMarks: r.publishMarks };
}

async function main(): Promise<number> {
  let parsed;
  let record: RecordWriterOptions;
  try {
    const raw = JSON.parse(process.argv[2] ?? 'null') as Record<string, unknown>;
    const { record: recordRaw, ...rest } = raw ?? {};
    record = parseRecordOptions(recordRaw);
    // The recording's lying-writer knob is the workload's own (announceStrategy): one knob.
    parsed = parseWriterConfig(record.claimStrategy !== null ? { ...rest, announceStrategy: record.claimStrategy } : rest);
  } catch (error) {
    const message = error instanceof WriterConfigError || error instanceof SyntaxError ? error.message : String(error);
    process.stderr.write(`marked-writer: bad configuration: ${message}\n`);
    return WRITER_EXIT.badConfig;
  }
  const marker = openMarker(record.dmName, record.markMethod);
  const emit = (event: WorkloadEvent): void => {
    writeEvent(EVENT_FD, event);
    const label = markLabel(event);
    if (label !== null && !(record.publishMarks && NATIVE_MARKED.has(event.type))) marker.mark(label);
  };
  let code: number;
  try {
    const result = await runWriter(parsed, emit, record.publishMarks ? { publishMarks: { dmName: record.dmName } } : {});
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

void main().then((code) => {
  process.exitCode = code;
});
