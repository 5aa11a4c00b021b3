import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { DeviceError } from './device-error.js';
import { readMountTable } from './mountinfo.js';

// Consent to work on a device the harness did not make. Both fields are needed: an option that
// names the device and a separate confirmation (the CLI's --yes-destroy-data), so neither a
// typo nor a default can point the harness at a real disk.
export interface RealDeviceConsent {
  allowRealDevice: boolean;
  confirmed: boolean;
}

export interface GuardContext {
  /** Canonical paths of the image files we created: a loop device over one of them is ours. */
  ownedImages: ReadonlySet<string>;
  /** Canonical paths of the block devices we created or were given consent for (dm devices, ...). */
  ownedDevices: ReadonlySet<string>;
  consent?: RealDeviceConsent;
}

function sysName(devicePath: string): string {
  return basename(devicePath);
}

function readSys(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

// Why a device is busy, or undefined when nothing uses it: mounted (itself or a partition),
// active swap, or held by another block device (a dm table, md, ...).
export function deviceInUse(canonicalPath: string): string | undefined {
  const name = sysName(canonicalPath);
  const sys = `/sys/class/block/${name}`;
  const parts = existsSync(sys) ? readdirSync(sys).filter((e) => e.startsWith(name) && existsSync(`${sys}/${e}/dev`)) : [];
  const ids = new Map<string, string>();
  for (const n of [name, ...parts]) {
    const id = readSys(`/sys/class/block/${n}/dev`);
    if (id) ids.set(id, `/dev/${n}`);
  }
  const devPaths = new Set([canonicalPath, ...parts.map((p) => `/dev/${p}`)]);
  for (const m of readMountTable()) {
    let src = m.source;
    try {
      if (src.startsWith('/dev/')) src = realpathSync(src);
    } catch {
      /* a vanished source cannot be ours */
    }
    if (ids.has(m.devId) || devPaths.has(src)) return `${ids.get(m.devId) ?? src} is mounted on ${m.mountPoint}`;
  }
  const swaps = readSys('/proc/swaps') ?? '';
  for (const line of swaps.split('\n').slice(1)) {
    const dev = line.split(/\s+/)[0];
    if (dev && devPaths.has(dev)) return `${dev} is in use as swap`;
  }
  for (const n of [name, ...parts]) {
    const holders = existsSync(`/sys/class/block/${n}/holders`) ? readdirSync(`/sys/class/block/${n}/holders`) : [];
    if (holders.length > 0) return `/dev/${n} is held by ${holders.join(', ')}`;
  }
  return undefined;
}

// The safety rule. By default only loop devices over image files we created, and devices we
// created on top of them, may be formatted, mapped or written. Anything else needs explicit
// consent, and is refused while mounted or otherwise in use, consent or not.
export function guardDevice(device: string, ctx: GuardContext): string {
  let canonical: string;
  try {
    canonical = realpathSync(device);
  } catch (err) {
    throw new DeviceError('BAD_ARGUMENT', `${device}: no such device`, { cause: err });
  }
  if (!statSync(canonical).isBlockDevice()) throw new DeviceError('BAD_ARGUMENT', `${device} is not a block device`);
  const busy = deviceInUse(canonical);
  if (busy) throw new DeviceError('DEVICE_IN_USE', `refusing ${device}: ${busy}`);
  if (ctx.ownedDevices.has(canonical)) return canonical;
  const name = sysName(canonical);
  if (/^loop\d+$/.test(name)) {
    const backing = readSys(`/sys/block/${name}/loop/backing_file`)?.replace(/ \(deleted\)$/, '');
    if (backing && ctx.ownedImages.has(backing)) return canonical;
    if (!ctx.consent?.allowRealDevice || !ctx.consent.confirmed) {
      throw new DeviceError('NOT_OWNED', `refusing ${device}: it is a loop device over ${backing ?? 'nothing'}, not an image this harness created`);
    }
    return canonical;
  }
  if (!ctx.consent?.allowRealDevice) {
    throw new DeviceError(
      'UNSAFE_DEVICE',
      `refusing ${device}: it is a real block device; its data would be destroyed. Pass the real-device option and confirm it explicitly to proceed`,
    );
  }
  if (!ctx.consent.confirmed) {
    throw new DeviceError(
      'UNSAFE_DEVICE',
      `refusing ${device}: the real-device option needs its confirmation flag too (every byte on ${device} will be destroyed)`,
    );
  }
  return canonical;
}
