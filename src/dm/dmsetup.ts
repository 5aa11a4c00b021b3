import { existsSync, readFileSync } from 'node:fs';
import { DeviceError } from './device-error.js';
import { checkDmName, formatTable, type DmTableLine } from './dm-table.js';
import { runTool } from './tool.js';
import type { RunOptions } from '../run.js';

// Without a running udev (containers, the microVM) dmsetup would wait for udev to create
// /dev/mapper/NAME forever or never see it; DM_DISABLE_UDEV makes dmsetup create the nodes itself.
function dmEnv(): Record<string, string> | undefined {
  return existsSync('/run/udev/control') ? undefined : { DM_DISABLE_UDEV: '1' };
}

async function dmsetup(args: readonly string[], extra: RunOptions = {}) {
  const env = dmEnv();
  return runTool('dmsetup', args, { ...extra, ...(env ? { env: { ...env, ...extra.env } } : {}) });
}

// Creates a device from a table (given on stdin, so multi-line tables work).
export async function dmCreate(name: string, table: readonly DmTableLine[]): Promise<void> {
  checkDmName(name);
  await dmsetup(['create', name], { input: formatTable(table) + '\n' });
}

// Loads a table into the inactive slot; it takes effect at the next resume.
export async function dmLoad(name: string, table: readonly DmTableLine[]): Promise<void> {
  checkDmName(name);
  await dmsetup(['load', name], { input: formatTable(table) + '\n' });
}

export interface SuspendOptions {
  /** Do not freeze (and so sync) the filesystem on top. A power-cut needs this: a frozen
   *  filesystem has already written everything, and the "crash" would lose nothing. */
  noLockfs?: boolean;
  /** Do not wait for in-flight I/O to complete (dmsetup --noflush). */
  noFlush?: boolean;
}

// Arguments for `dmsetup suspend`; pure for tests without root.
export function dmSuspendArgs(name: string, opts: SuspendOptions = {}): string[] {
  checkDmName(name);
  return ['suspend', ...(opts.noLockfs ? ['--nolockfs'] : []), ...(opts.noFlush ? ['--noflush'] : []), name];
}

export async function dmSuspend(name: string, opts: SuspendOptions = {}): Promise<void> {
  await dmsetup(dmSuspendArgs(name, opts));
}

export async function dmResume(name: string): Promise<void> {
  checkDmName(name);
  await dmsetup(['resume', name]);
}

// Removes a device; --retry rides out the short window in which udev or a just-closed
// filesystem still holds it open.
export async function dmRemove(name: string): Promise<void> {
  checkDmName(name);
  await dmsetup(['remove', '--retry', name]);
}

// Sends a target message (dm-log-writes: `mark <label>`) to sector 0 of a device.
export async function dmMessage(name: string, message: readonly string[]): Promise<void> {
  checkDmName(name);
  await dmsetup(['message', name, '0', ...message]);
}

// Status lines of a device: `<start> <length> <target> <status...>`.
export async function dmStatus(name: string): Promise<DmTableLine[]> {
  checkDmName(name);
  const { stdout } = await dmsetup(['status', name]);
  return parseTableText(stdout);
}

// The live table of a device as the kernel reports it.
export async function dmTable(name: string): Promise<DmTableLine[]> {
  checkDmName(name);
  const { stdout } = await dmsetup(['table', name]);
  return parseTableText(stdout);
}

// Parses status/table output: one `<start> <length> <target> <words...>` per line.
export function parseTableText(text: string): DmTableLine[] {
  const lines: DmTableLine[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const [start, length, target, ...args] = line.split(/\s+/);
    if (start === undefined || length === undefined || target === undefined || !/^\d+$/.test(start) || !/^\d+$/.test(length)) {
      throw new DeviceError('PARSE_FAILED', `dmsetup printed ${JSON.stringify(line)}, expected "<start> <length> <target> ..."`);
    }
    lines.push({ start: Number(start), length: Number(length), target, args });
  }
  return lines;
}

export interface DmTarget {
  name: string;
  /** e.g. [1, 5, 0] for "v1.5.0". */
  version: [number, number, number];
}

// Parses `dmsetup targets`: lines like "flakey           v1.5.0".
export function parseTargets(text: string): DmTarget[] {
  const out: DmTarget[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(\S+)\s+v(\d+)\.(\d+)\.(\d+)\s*$/.exec(line);
    if (m) out.push({ name: m[1]!, version: [Number(m[2]), Number(m[3]), Number(m[4])] });
  }
  return out;
}

// The targets the running kernel has loaded (a target module not yet loaded is not listed:
// modprobe dm-flakey first, or use ensureTargets()).
export async function dmTargets(): Promise<DmTarget[]> {
  const { stdout } = await dmsetup(['targets']);
  return parseTargets(stdout);
}

// Loads the modules for these targets (best effort: they may be built in) and reports which
// are still missing afterwards.
export async function ensureTargets(names: readonly string[]): Promise<{ present: DmTarget[]; missing: string[] }> {
  for (const name of names) {
    await runTool('modprobe', [`dm-${name}`], { allowFailure: true }).catch(() => undefined);
  }
  const present = await dmTargets();
  return { present, missing: names.filter((n) => !present.some((t) => t.name === n)) };
}

export interface DmDeviceInfo {
  name: string;
  suspended: boolean;
  openCount: number;
}

// Parses `dmsetup info -c --noheadings --separator : -o name,suspended,open`.
export function parseDmInfo(text: string): DmDeviceInfo[] {
  const out: DmDeviceInfo[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '' || t === 'No devices found') continue;
    const parts = t.split(':');
    if (parts.length < 3) throw new DeviceError('PARSE_FAILED', `dmsetup info printed ${JSON.stringify(t)}`);
    out.push({ name: parts[0]!, suspended: parts[1] === 'Suspended', openCount: Number(parts[2]) });
  }
  return out;
}

// Info on one device, or undefined when it does not exist.
export async function dmInfo(name: string): Promise<DmDeviceInfo | undefined> {
  checkDmName(name);
  const r = await dmsetup(['info', '-c', '--noheadings', '--separator', ':', '-o', 'name,suspended,open', name], { allowFailure: true });
  if (r.exitCode !== 0) return undefined;
  return parseDmInfo(r.stdout)[0];
}

// Whether the running kernel has device-mapper loaded. /proc/misc, not /dev/mapper/control:
// dmsetup creates that node itself even where no driver answers it.
export function kernelHasDeviceMapper(): boolean {
  try {
    return /\sdevice-mapper$/m.test(readFileSync('/proc/misc', 'utf8'));
  } catch {
    return false;
  }
}

// Names of all device-mapper devices. Without device-mapper in the kernel there are none.
export async function dmList(): Promise<string[]> {
  if (!kernelHasDeviceMapper()) return [];
  const { stdout } = await dmsetup(['info', '-c', '--noheadings', '--separator', ':', '-o', 'name,suspended,open']);
  return parseDmInfo(stdout).map((d) => d.name);
}

// Resumes a device if it is suspended: unmounting a filesystem over a suspended device blocks
// forever, so teardown calls this first.
export async function dmResumeIfSuspended(name: string): Promise<void> {
  const info = await dmInfo(name);
  if (info?.suspended) await dmResume(name);
}
