import { existsSync, mkdtempSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { CleanupStack, signalReceived } from '../dm/cleanup-stack.js';
import { processStartTime } from '../dm/resource.js';
import { logger } from '../log.js';
import { BEGIN_MARK, END_MARK, guestConf, jobScript } from './guest-init.js';
import { QEMU, qemuArgs } from './qemu-args.js';
import { readManifest } from './vm-cache.js';
import { VmError } from './vm-error.js';

const log = logger('vm');

export interface VmRunOptions {
  /** Working directory inside the guest (default: the host's cwd, which is shared read-write). */
  cwd?: string;
  /** Host directories shared read-write at the same path (default: [cwd]). The rest of the
   *  host's / is visible read-only, with writes going to a tmpfs that vanishes at power-off. */
  shares?: readonly string[];
  /** Extra environment for the command. */
  env?: Record<string, string>;
  /** Kill the VM after this long (boot included). */
  timeoutMs?: number;
  /** Receives the command's console output as it arrives (stdout and stderr interleaved). */
  onOutput?: (text: string) => void;
  memoryMb?: number;
  cpus?: number;
  /** Kill the VM when this aborts (the caller has what it needs): runInVm then throws ABORTED. */
  signal?: AbortSignal;
}

export interface VmRunResult {
  exitCode: number;
  /** The command's console output (stdout and stderr interleaved, as on a terminal). */
  output: string;
  /** Host wall-clock from starting qemu to the guest starting the command. */
  bootMs: number;
  /** Host wall-clock from starting qemu to qemu's exit. */
  totalMs: number;
}

// The environment a command gets inside: the host's PATH (it runs the host's binaries), our
// own POWERCUT_* settings, and DM_DISABLE_UDEV because the guest has no udev.
export function guestEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
    HOME: '/root',
    LANG: 'C.UTF-8',
    DM_DISABLE_UDEV: '1',
    POWERCUT_IN_VM: '1',
  };
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && (k.startsWith('POWERCUT_') || k === 'CI' || k === 'TERM')) env[k] = v;
  }
  return { ...env, ...extra };
}

// Parents before children: a share inside another share must be mounted after it.
function normaliseShares(shares: readonly string[]): string[] {
  const out = new Set<string>();
  for (const s of shares) {
    if (!existsSync(s) || !statSync(s).isDirectory()) throw new VmError('BAD_ARGUMENT', `share ${s} is not a directory`);
    const real = realpathSync(s);
    if (real === '/') throw new VmError('BAD_ARGUMENT', 'the host root is shared read-only; share a directory below it');
    out.add(real);
  }
  return [...out].sort((a, b) => a.length - b.length);
}

// Runs argv inside a fresh microVM and returns its exit status and output. The VM is registered
// on a cleanup stack (killed on SIGINT/SIGTERM) and started under `setpriv --pdeathsig KILL`, so
// it dies with us even if we are SIGKILLed: it never outlives the harness.
export async function runInVm(argv: readonly string[], opts: VmRunOptions = {}): Promise<VmRunResult> {
  if (argv.length === 0) throw new VmError('BAD_ARGUMENT', 'no command given to run in the VM');
  const manifest = readManifest();
  if (!manifest) throw new VmError('NOT_PREPARED', 'no cached VM kernel: run `pnpm vm --prepare` (or `pnpm doctor --fix`)');
  const cwd = realpathSync(opts.cwd ?? process.cwd());
  const shares = normaliseShares(opts.shares ?? [cwd]);
  const stack = new CleanupStack();
  try {
    const jobDir = mkdtempSync(join(realpathSync(tmpdir()), 'powercut-vmjob-'));
    stack.add({ kind: 'dir', path: jobDir });
    try {
      writeFileSync(join(jobDir, 'cmd.sh'), jobScript({ argv, cwd, env: guestEnv(opts.env) }));
      writeFileSync(join(jobDir, 'guest.conf'), guestConf(shares, join(manifest.kernelRoot, 'lib', 'modules', manifest.kernelRelease)));
    } catch (err) {
      // An unusual path or environment name: the user's input, not a VM failure.
      throw new VmError('BAD_ARGUMENT', err instanceof Error ? err.message : String(err), { cause: err });
    }
    const args = qemuArgs({ vmlinuz: manifest.vmlinuz, initramfs: manifest.initramfs, jobDir, shares, memoryMb: opts.memoryMb ?? 2048, cpus: opts.cpus ?? 2 });
    return await boot(args, stack, opts);
  } finally {
    await stack.unwind();
  }
}

async function boot(args: string[], stack: CleanupStack, opts: VmRunOptions): Promise<VmRunResult> {
  const started = Date.now();
  log.debug({ cmd: [QEMU, ...args].join(' ') }, 'starting vm');
  // execa directly rather than src/run.ts: the console must stream while the VM runs and we need
  // the pid to kill it; run() buffers and returns only at exit.
  const child = execa('setpriv', ['--pdeathsig', 'KILL', '--', QEMU, ...args], { stdin: 'ignore', buffer: false, reject: false, encoding: 'utf8' });
  if (child.pid !== undefined) {
    const startTime = processStartTime(child.pid);
    if (startTime) stack.add({ kind: 'process', pid: child.pid, startTime, label: 'qemu' });
  }
  let bootLog = '';
  let pending = '';
  let output = '';
  let bootMs = -1;
  let exitCode: number | undefined;
  const emit = (text: string) => {
    if (!text) return;
    output += text;
    opts.onOutput?.(text);
  };
  child.stdout?.on('data', (chunk: Buffer | string) => {
    pending += chunk.toString();
    if (bootMs < 0) {
      const at = pending.indexOf(`${BEGIN_MARK} `);
      const nl = at >= 0 ? pending.indexOf('\n', at) : -1;
      if (nl < 0) {
        // Keep only what could still contain the marker; the rest is boot noise for diagnostics.
        if (pending.length > 4096) {
          bootLog = (bootLog + pending.slice(0, -256)).slice(-65536);
          pending = pending.slice(-256);
        }
        return;
      }
      bootLog += pending.slice(0, at);
      bootMs = Date.now() - started;
      pending = pending.slice(nl + 1);
    }
    if (exitCode !== undefined) return;
    const end = pending.indexOf(END_MARK);
    if (end >= 0) {
      const m = new RegExp(`^${END_MARK} (\\d+)`).exec(pending.slice(end));
      if (!m) return; // the status digits have not arrived yet
      emit(pending.slice(0, end));
      exitCode = Number(m[1]);
      pending = '';
      return;
    }
    // Hold back a possible partial marker at the end of the chunk.
    const keep = END_MARK.length;
    emit(pending.slice(0, Math.max(0, pending.length - keep)));
    pending = pending.slice(Math.max(0, pending.length - keep));
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer | string) => {
    stderr = (stderr + chunk.toString()).slice(-8192);
  });
  let timedOut = false;
  const timer = opts.timeoutMs
    ? setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, opts.timeoutMs)
    : undefined;
  const abort = () => child.kill('SIGKILL');
  opts.signal?.addEventListener('abort', abort, { once: true });
  if (opts.signal?.aborted === true) abort();
  const result = await child;
  opts.signal?.removeEventListener('abort', abort);
  if (timer) clearTimeout(timer);
  const totalMs = Date.now() - started;
  if ((result as { code?: string }).code === 'ENOENT') {
    throw new VmError('QEMU_MISSING', 'setpriv not found: apt-get install util-linux');
  }
  if (/No such file or directory/.test(stderr) && /qemu/.test(stderr)) {
    throw new VmError('QEMU_MISSING', `${QEMU} not found: apt-get install --no-install-recommends qemu-system-x86`);
  }
  const signal = signalReceived();
  if (signal) throw new VmError('INTERRUPTED', `interrupted by ${signal}; the VM was stopped`);
  if (opts.signal?.aborted === true) throw new VmError('ABORTED', 'the VM was stopped: its caller had what it needed');
  if (timedOut) throw new VmError('TIMEOUT', `the VM ran past ${opts.timeoutMs} ms and was killed${bootMs < 0 ? ' before the command started' : ''}`);
  if (exitCode === undefined) {
    const tail = (bootLog + pending).split('\n').slice(-30).join('\n');
    const why = bootMs < 0 ? 'the guest never started the command' : 'the guest stopped before the command finished';
    throw new VmError(
      'BOOT_FAILED',
      `${why} (qemu exit ${result.exitCode ?? result.signal ?? '?'})\n--- console ---\n${tail}\n--- qemu stderr ---\n${stderr.trim()}`,
    );
  }
  log.debug({ bootMs, totalMs, exitCode }, 'vm finished');
  return { exitCode, output, bootMs, totalMs };
}
