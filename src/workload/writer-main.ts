import { writeEvent, type WorkloadEvent } from './events.js';
import { runWriter } from './writer.js';
import { EVENT_FD, parseWriterConfig, WRITER_EXIT, WriterConfigError } from './writer-config.js';

// The writer child process: `node writer-main.js '<config json>'`. Events go to file descriptor 3
// (a pipe the harness opens), one line each, written synchronously; stdout and stderr stay free
// for anything else that might print, so nothing can interleave with an event line.
// Exit statuses: WRITER_EXIT in writer-config.ts.

function emit(event: WorkloadEvent): void {
  writeEvent(EVENT_FD, event);
}

async function main(): Promise<number> {
  let config;
  try {
    config = parseWriterConfig(JSON.parse(process.argv[2] ?? 'null'));
  } catch (error) {
    const message = error instanceof WriterConfigError || error instanceof SyntaxError ? error.message : String(error);
    process.stderr.write(`writer: bad configuration: ${message}\n`);
    return WRITER_EXIT.badConfig;
  }
  try {
    const result = await runWriter(config, emit);
    return result.status === 'done' ? WRITER_EXIT.done : WRITER_EXIT.seqMismatch;
  } catch (error) {
    const code = typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : 'WRITER_CRASHED';
    const message = error instanceof Error ? error.message : String(error);
    emit({ type: 'failed', code, message, t: Date.now() });
    process.stderr.write(`writer: ${message}\n`);
    return WRITER_EXIT.error;
  }
}

main().then((code) => {
  process.exitCode = code;
});
