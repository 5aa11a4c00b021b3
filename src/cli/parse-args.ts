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
