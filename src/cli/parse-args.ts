import { CommanderError, type Command } from 'commander';

// Parses a command line with a commander program built with exitOverride(), so that no CLI exits
// from inside commander: returns the status to exit with (0 after --help, 2 for a usage error,
// whose message commander has already printed) or undefined when the command should run.
export function parseArgs(program: Command, argv: string[]): number | undefined {
  try {
    program.parse(argv, { from: 'user' });
    return undefined;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
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
