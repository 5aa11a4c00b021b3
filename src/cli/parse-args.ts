import { CommanderError, InvalidArgumentError, type Command } from 'commander';

// Parses a command line with a commander program built with exitOverride(), so that no CLI exits
// from inside commander: returns the status to exit with (0 after --help, 2 for a usage error,
// whose message commander has already printed) or undefined when the command should run. `label`
// starts every error line (default: the program's name).
export function parseArgs(program: Command, argv: string[], label = program.name()): number | undefined {
  oneLineErrors(program, label);
  try {
    program.parse(argv, { from: 'user' });
    return undefined;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
}

// Commander prints "error: unknown option '--trails'" and its "(Did you mean --trials?)" on a
// second line; a usage error is one line everywhere in this project (a log grep, a CI summary
// shows the whole reason), named for the command like every other error it prints.
function oneLineErrors(cmd: Command, name: string): void {
  cmd.configureOutput({
    outputError: (text, write) =>
      write(
        `${name}: ${text
          .trim()
          .replace(/^error: /, '')
          .replace(/\s*\n\s*/g, ' ')}\n`,
      ),
  });
  for (const sub of cmd.commands) oneLineErrors(sub, `${name} ${sub.name()}`);
}

/** The outcome of reading a number from the command line: the value, or why it is not one. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

// The one integer reader of every CLI: digits only (no sign, exponent, hex or blank, which Number()
// would take), and within [min, max], the upper bound stated in the message so a typo of
// 99999999999999999999 is refused instead of spinning for ever.
export function parseInteger(option: string, text: string, min: number, max: number): Parsed<number> {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
    return { ok: false, message: `${option} must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}` };
  }
  return { ok: true, value: n };
}

// A positive duration in seconds (decimals allowed), within [min, max].
export function parseSeconds(option: string, text: string, min: number, max: number): Parsed<number> {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || n < min || n > max) {
    return { ok: false, message: `${option} must be a number of seconds from ${min} to ${max}, got ${JSON.stringify(text)}` };
  }
  return { ok: true, value: n };
}

// parseInteger as a commander option parser.
export function intOption(option: string, min: number, max: number): (text: string) => number {
  return (text) => {
    const r = parseInteger(option, text, min, max);
    if (!r.ok) throw new InvalidArgumentError(r.message);
    return r.value;
  };
}

// parseSeconds as a commander option parser.
export function secondsOption(option: string, min: number, max: number): (text: string) => number {
  return (text) => {
    const r = parseSeconds(option, text, min, max);
    if (!r.ok) throw new InvalidArgumentError(r.message);
    return r.value;
  };
}

// Sets the exit status from a CLI's main: a known failure (one of `known`) prints as one line, any
// other error as "unexpected", never a stack trace; both exit 2, as no result was reached.
export function exitWith(name: string, main: Promise<number>, known: readonly (abstract new (...args: never[]) => Error)[], hint = ''): void {
  main.then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      if (known.some((k) => err instanceof k)) console.error(`${name}: ${(err as Error).message}`);
      else console.error(`${name}: unexpected error: ${err instanceof Error ? err.message : String(err)}${hint}`);
      process.exitCode = 2;
    },
  );
}
