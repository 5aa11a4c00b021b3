import { Command } from 'commander';
import { DeviceError } from '../dm/device-error.js';
import { prepareVm, readManifest, runInVm, vmCacheDir, VmError } from '../vm/index.js';
import { watchLaunchers } from './launcher-watch.js';
import { parseArgs, secondsOption } from './parse-args.js';
import { existingDir, pathOption } from './path-checks.js';
import { reapEarlierRuns } from './reap-earlier-runs.js';

const shareDir = pathOption(existingDir, '--share');

// pnpm vm -- <command>: run a command inside the microVM (real device-mapper, the host's userspace
// read-only, the current directory read-write); exit with the command's status.
// pnpm vm --prepare: fetch the kernel and build the initramfs into the cache (what CI runs).

// A week: far beyond any run, and well inside what a Node timer can hold (24.8 days).
const MAX_TIMEOUT_S = 7 * 24 * 3600;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function main(argv: string[]): Promise<number> {
  watchLaunchers();
  const program = new Command('vm')
    .description('run a command inside the powercut microVM (qemu, TCG) with real device-mapper')
    .argument('[command...]', 'the command and its arguments (put -- before it)')
    .option('--prepare', 'download the kernel and build the initramfs into the cache, then exit')
    .option('--refresh', 'with --prepare: resolve linux-image-amd64 again and refetch the kernel')
    .option('--status', 'print what the cache holds and exit (1 when not prepared)')
    .option(
      '--share <dir>',
      'share a host directory read-write (repeatable; default: the current directory)',
      (dir: string, previous: string[]) => collect(shareDir(dir), previous),
      [],
    )
    .option('--timeout <seconds>', `kill the VM after this many seconds (1-${MAX_TIMEOUT_S})`, secondsOption('--timeout', 1, MAX_TIMEOUT_S))
    .option('--timing', 'print boot-to-command and total time on stderr')
    .enablePositionalOptions()
    .passThroughOptions()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  const usage = parseArgs(program, argv);
  if (usage !== undefined) return usage;
  const opts = program.opts<{ prepare?: boolean; refresh?: boolean; status?: boolean; share: string[]; timeout?: number; timing?: boolean }>();
  const command = program.args[0] === '--' ? program.args.slice(1) : program.args;
  if (opts.status) {
    const m = readManifest();
    if (!m) {
      console.log(`not prepared (cache: ${vmCacheDir()}); run: pnpm vm --prepare`);
      return 1;
    }
    console.log(JSON.stringify(m, null, 2));
    return 0;
  }
  if (command.length === 0 && !opts.prepare) {
    console.error('vm: no command given. Usage: pnpm vm -- <command> [args...]   (or --prepare, --status)');
    return 2;
  }
  await reapEarlierRuns('vm');
  if (opts.prepare) {
    const r = await prepareVm({ refresh: opts.refresh, progress: (l) => console.error(`vm: ${l}`) });
    const m = r.manifest;
    console.error(
      r.status === 'cached'
        ? `vm: cache is up to date (${m.kernelPackage} ${m.packageVersion})`
        : `vm: prepared ${m.kernelPackage} ${m.packageVersion} in ${(r.ms / 1000).toFixed(1)} s`,
    );
    if (command.length === 0) return 0;
  }
  const result = await runInVm(command, {
    shares: opts.share.length > 0 ? [process.cwd(), ...opts.share] : undefined,
    timeoutMs: opts.timeout ? opts.timeout * 1000 : undefined,
    onOutput: (t) => process.stdout.write(t),
  });
  if (opts.timing)
    console.error(`vm: boot-to-command ${(result.bootMs / 1000).toFixed(2)} s, total ${(result.totalMs / 1000).toFixed(2)} s, exit ${result.exitCode}`);
  return result.exitCode;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // Known failures get one clear line, never a stack trace.
    if (err instanceof VmError || err instanceof DeviceError) {
      console.error(`vm: ${err.message}`);
      // A leftover that cannot be released refuses the start, like a bad argument.
      process.exitCode = (err instanceof VmError && err.code === 'BAD_ARGUMENT') || (err instanceof DeviceError && err.code === 'CLEANUP_FAILED') ? 2 : 1;
      return;
    }
    console.error(`vm: unexpected error: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
