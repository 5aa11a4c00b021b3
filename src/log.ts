import pino from 'pino';

// The one root logger. Synchronous destination: a harness process may be killed mid-run
// (SIGKILL of a writer, Ctrl-C of crashtest) and buffered last words would be lost.
// Logs go to stderr so stdout stays free for tables and machine-readable output.
export const log = pino({ level: process.env.POWERCUT_LOG_LEVEL ?? 'warn', base: undefined }, pino.destination({ dest: 2, sync: true }));

// A named child logger for one module.
export function logger(module: string): pino.Logger {
  return log.child({ module });
}
