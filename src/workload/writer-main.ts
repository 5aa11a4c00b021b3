import { writeEvent, type WorkloadEvent } from './events.js';
import { nativeModule } from '../wal/index.js';
import { runWriter } from './writer.js';
import { EVENT_FD, parseWriterConfig, WRITER_EXIT, WriterConfigError } from './writer-config.js';

// The writer child process: `node writer-main.mjs '<config json>'`, or without the argument it
// loads the WAL's addon and then reads the configuration as one JSON line on stdin: the harness
// starts the next trial's writer ahead of time (process start is about a second under TCG) and
// hands it its configuration when the trial begins. Events go to file descriptor 3
// (a pipe the harness opens), one line each, written synchronously; stdout and stderr stay free
// for anything else that might print, so nothing can interleave with an event line.
// Exit statuses: WRITER_EXIT in writer-config.ts.

function emit(event: WorkloadEvent): void {
  writeEvent(EVENT_FD, event);
}

/** The first line on stdin (the harness writes the configuration and closes the pipe). */
async function readConfigLine(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += (chunk as Buffer).toString('utf8');
    const nl = text.indexOf('\n');
    if (nl >= 0) return text.slice(0, nl);
  }
  return text;
}

async function main(): Promise<number> {
  let config;
  let text = process.argv[2];
  if (text === undefined) {
    // Waiting for a trial: do the expensive part of starting now.
    try {
      nativeModule();
    } catch {
      // Reported properly (as a failed event) when the WAL is opened.
    }
    text = await readConfigLine();
  }
  try {
    config = parseWriterConfig(JSON.parse(text === '' ? 'null' : text));
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

void main().then((code) => {
  process.exitCode = code;
});
