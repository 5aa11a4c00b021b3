import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logger } from '../log.js';
import { DeviceError } from './device-error.js';
import { describeResource, prepareRelease, processAlive, processStartTime, releaseResource, sigkillProcess, type Resource } from './resource.js';

const log = logger('cleanup');

// Where each live stack keeps a copy of its resources on disk. /run is a tmpfs that a reboot
// clears, exactly like the loop and dm devices it describes; a harness killed with SIGKILL
// leaves its ledger behind and reapOrphans() releases what it lists.
export function ledgerDir(): string {
  if (process.env.POWERCUT_LEDGER_DIR) return process.env.POWERCUT_LEDGER_DIR;
  return process.getuid?.() === 0 ? '/run/powercut/stacks' : join(tmpdir(), 'powercut-stacks');
}

interface LedgerFile {
  pid: number;
  startTime: string;
  resources: Resource[];
}

export interface Registration {
  readonly resource: Resource;
}

const liveStacks = new Set<CleanupStack>();
let stackCounter = 0;
let handlersInstalled = false;
let unwindingOnSignal = false;
let receivedSignal: NodeJS.Signals | undefined;

// The signal that is making this process unwind and exit, if any: lets a caller report
// "interrupted" instead of the failure the interruption caused.
export function signalReceived(): NodeJS.Signals | undefined {
  return receivedSignal;
}
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

// On a signal: unwind every live stack, then re-raise the signal with the default action so the
// exit status says how we died (130 for Ctrl-C). A second signal while unwinding is ignored on
// purpose: stopping halfway would leave a suspended device or a mount behind.
function onSignal(signal: NodeJS.Signals): void {
  if (unwindingOnSignal) return;
  unwindingOnSignal = true;
  log.warn({ signal, stacks: liveStacks.size }, 'signal: releasing every resource before exiting');
  // The interrupted code keeps running while we unwind: its next add() is refused and throws.
  // Left alone, that throw would end the process at once, halfway through the cleanup. We are
  // dying anyway; only the cleanup matters now.
  const swallow = (err: unknown) => log.debug({ err }, 'error while unwinding after a signal (ignored)');
  process.on('uncaughtException', swallow);
  process.on('unhandledRejection', swallow);
  receivedSignal = signal;
  // A pending promise does not keep Node alive: without this timer the interrupted code could
  // finish, the loop run dry and the process exit 0 or 1 before the cleanup re-raises the signal.
  const keepAlive = setInterval(() => undefined, 1000);
  const all = [...liveStacks].reverse().map((s) => s.unwind().catch((err: unknown) => log.error({ err }, 'cleanup after signal failed')));
  void Promise.all(all).finally(() => {
    clearInterval(keepAlive);
    removeHandlers();
    // Other listeners (tsx installs some) already saw this signal when it arrived; left in place
    // they would swallow the re-raised one and the process would not die of it.
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  });
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const s of SIGNALS) process.on(s, onSignal);
}

function removeHandlers(): void {
  if (!handlersInstalled) return;
  handlersInstalled = false;
  for (const s of SIGNALS) process.off(s, onSignal);
}

// The resources of one harness run, released in reverse order of registration on success, on
// error (use `using`-style try/finally or withCleanup) and on SIGINT/SIGTERM/SIGHUP.
// Register a resource BEFORE running the tool that makes it (see Resource): the release is a
// no-op for things that never came to exist, and a kill mid-setup leaks nothing.
export class CleanupStack {
  private readonly entries: Registration[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly ledgerPath: string;
  private readonly startTime = processStartTime(process.pid) ?? '0';
  private unwinding: Promise<void> | undefined;

  constructor() {
    this.ledgerPath = join(ledgerDir(), `${process.pid}-${++stackCounter}.json`);
  }

  /** The resources still held, oldest first. */
  get resources(): Resource[] {
    return this.entries.map((e) => e.resource);
  }

  // Registers a resource (before making it). Returns a handle for releasing it early.
  add(resource: Resource): Registration {
    if (this.unwinding) {
      // A process is registered after it started (its pid comes from the start), so one started
      // while a signal's unwind runs exists already and nothing else will stop it; it may hold a
      // mount the unwind is about to remove. Kill it before refusing.
      if (resource.kind === 'process' && processAlive(resource.pid, resource.startTime)) {
        try {
          sigkillProcess(resource);
        } catch {
          // already gone
        }
      }
      throw new DeviceError('BAD_ARGUMENT', `cannot register ${describeResource(resource)}: the cleanup stack is already unwinding`);
    }
    const reg: Registration = { resource };
    this.entries.push(reg);
    liveStacks.add(this);
    installHandlers();
    this.writeLedger();
    return reg;
  }

  // Puts a running process on the stack: it is SIGKILLed on unwind, before anything it may hold
  // open (a mount, a device) is released below it. `group`: the process leads its own process
  // group, which is killed whole (see Resource).
  addProcess(pid: number, label: string, opts: { group?: boolean } = {}): Registration {
    const startTime = processStartTime(pid);
    if (startTime === undefined) throw new DeviceError('BAD_ARGUMENT', `process ${pid} (${label}) is not running`);
    return this.add({ kind: 'process', pid, startTime, label, ...(opts.group === true ? { group: true } : {}) });
  }

  // Releases one resource now (e.g. unmount before a remount) and drops it from the stack.
  async release(reg: Registration): Promise<void> {
    await prepareRelease(reg.resource);
    await releaseResource(reg.resource);
    this.forget(reg);
  }

  // Drops a resource from the stack without releasing it (someone else now owns it).
  forget(reg: Registration): void {
    const i = this.entries.indexOf(reg);
    if (i >= 0) this.entries.splice(i, 1);
    this.writeLedger();
  }

  // Wraps an operation that is making resources, so a signal-driven unwind first waits for it
  // to finish: removing a dm device while `dmsetup create` for it is still running would race.
  track<T>(op: Promise<T>): Promise<T> {
    this.inFlight.add(op);
    const done = () => this.inFlight.delete(op);
    op.then(done, done);
    return op;
  }

  // Releases everything in reverse order. Keeps going past failures and throws one
  // DeviceError('CLEANUP_FAILED') listing them at the end. Calling it twice is safe.
  unwind(): Promise<void> {
    this.unwinding ??= this.doUnwind();
    return this.unwinding;
  }

  private async doUnwind(): Promise<void> {
    // Bounded: an operation stuck in the kernel must not keep us from releasing the rest.
    await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((r) => setTimeout(r, 30_000).unref())]);
    const failures = await releaseAll(this.entries.map((e) => e.resource));
    this.entries.length = 0;
    liveStacks.delete(this);
    if (liveStacks.size === 0 && !unwindingOnSignal) removeHandlers();
    if (failures.length === 0) {
      rmSync(this.ledgerPath, { force: true });
      return;
    }
    // Keep the ledger: reapOrphans() can try again once the process is gone.
    throw new DeviceError('CLEANUP_FAILED', `could not release: ${failures.map((f) => f.what).join('; ')}`, { cause: failures[0]?.cause });
  }

  private writeLedger(): void {
    if (this.entries.length === 0) {
      rmSync(this.ledgerPath, { force: true });
      return;
    }
    const data: LedgerFile = { pid: process.pid, startTime: this.startTime, resources: this.resources };
    mkdirSync(ledgerDir(), { recursive: true });
    // Synchronous and renamed into place: we may be killed at any instant, and a half-written
    // ledger would be unreadable exactly when it is needed.
    const tmp = `${this.ledgerPath}.tmp`;
    writeFileSync(tmp, JSON.stringify(data));
    renameSync(tmp, this.ledgerPath);
  }
}

async function releaseAll(resources: readonly Resource[]): Promise<{ what: string; cause: unknown }[]> {
  const failures: { what: string; cause: unknown }[] = [];
  const reversed = [...resources].reverse();
  for (const r of reversed) {
    try {
      await prepareRelease(r);
    } catch (cause) {
      failures.push({ what: `resume ${describeResource(r)}`, cause });
    }
  }
  for (const r of reversed) {
    try {
      await releaseResource(r);
      log.debug({ resource: describeResource(r) }, 'released');
    } catch (cause) {
      log.error({ resource: describeResource(r), err: cause }, 'release failed');
      failures.push({ what: `${describeResource(r)}: ${cause instanceof Error ? cause.message : String(cause)}`, cause });
    }
  }
  return failures;
}

// Runs fn with a fresh stack and always unwinds it afterwards. If fn failed, its error wins and
// a cleanup failure is logged; if only the cleanup failed, that error is thrown.
export async function withCleanup<T>(fn: (stack: CleanupStack) => Promise<T>): Promise<T> {
  const stack = new CleanupStack();
  let result: T;
  try {
    result = await fn(stack);
  } catch (err) {
    await stack.unwind().catch((cleanupErr: unknown) => log.error({ err: cleanupErr }, 'cleanup after failure also failed'));
    throw err;
  }
  await stack.unwind();
  return result;
}

export interface ReapedLedger {
  pid: number;
  released: string[];
  failures: string[];
}

function readLedgers(): { path: string; ledger: LedgerFile | undefined }[] {
  const dir = ledgerDir();
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  return names.map((name) => {
    const path = join(dir, name);
    try {
      return { path, ledger: JSON.parse(readFileSync(path, 'utf8')) as LedgerFile };
    } catch {
      return { path, ledger: undefined };
    }
  });
}

// Ledgers left by harnesses that are gone: what reapOrphans() would release (pid, resources).
export function orphanLedgers(): { pid: number; resources: string[] }[] {
  return readLedgers()
    .filter((l): l is { path: string; ledger: LedgerFile } => l.ledger !== undefined && !processAlive(l.ledger.pid, l.ledger.startTime))
    .map(({ ledger }) => ({ pid: ledger.pid, resources: ledger.resources.map(describeResource) }));
}

// Releases what harnesses that died without unwinding (SIGKILL, OOM, power loss of the VM host
// process) left behind, according to their ledgers. Ledgers of live processes are left alone.
export async function reapOrphans(): Promise<ReapedLedger[]> {
  const reaped: ReapedLedger[] = [];
  for (const { path, ledger } of readLedgers()) {
    if (!ledger) {
      rmSync(path, { force: true });
      continue;
    }
    if (processAlive(ledger.pid, ledger.startTime)) continue;
    const failures = await releaseAll(ledger.resources);
    reaped.push({ pid: ledger.pid, released: ledger.resources.map(describeResource), failures: failures.map((f) => f.what) });
    if (failures.length === 0) rmSync(path, { force: true });
  }
  return reaped;
}
