import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { ensureTargets } from '../dm/index.js';
import { readManifest, vmCacheDir } from '../vm/index.js';
import { CrashError } from './crash-error.js';

// Where the trials can run: on this kernel (it has dm-flakey), in the microVM (it does not, or
// --vm), or nowhere (exit 2 with what to do about it).

export type Placement = { where: 'host' } | { where: 'vm'; reason: string };

/** crashtest needs root: loop devices, device-mapper and mount all do. */
export function requireRoot(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new CrashError('NOT_ROOT', 'crashtest needs root (it makes loop and device-mapper devices and mounts them): run it with sudo');
  }
}

/** The device-mapper target a mode needs where its devices are made. */
export type DmTargetName = 'flakey' | 'log-writes';

/** Whether this kernel offers `target` (ensureTargets modprobes it first, in case it is a module). */
export async function hostHasTarget(target: DmTargetName): Promise<{ ok: true } | { ok: false; why: string }> {
  // /proc/misc, not /dev/mapper/control: dmsetup creates that node even where no driver answers it.
  const hasDm = existsSync('/proc/misc') && /\bdevice-mapper\b/.test(readFileSync('/proc/misc', 'utf8'));
  // No device-mapper and no modules to load it from (this machine kind): say so without running
  // dmsetup, whose failure would only add noise.
  if (!hasDm && !existsSync(`/lib/modules/${release()}`)) return { ok: false, why: 'this kernel has no device-mapper' };
  try {
    const { missing } = await ensureTargets([target]);
    if (missing.length === 0) return { ok: true };
    return { ok: false, why: hasDm ? `this kernel has device-mapper but no dm-${target} target` : 'this kernel has no device-mapper' };
  } catch (error) {
    return { ok: false, why: hasDm ? `dmsetup does not work here (${(error as Error).message.split('\n')[0]})` : 'this kernel has no device-mapper' };
  }
}

/**
 * The one placement decision of every mode: make `target` devices on this kernel, or in the
 * microVM (it lacks the target, or --vm); throws NO_DEVICE_MAPPER when neither can.
 */
export async function choosePlacement(target: DmTargetName, forceVm: boolean): Promise<Placement> {
  const host = forceVm ? ({ ok: false, why: '--vm was given' } as const) : await hostHasTarget(target);
  if (host.ok) return { where: 'host' };
  if (!readManifest()) {
    throw new CrashError(
      'NO_DEVICE_MAPPER',
      `${host.why}, and the microVM that provides one is not prepared (cache: ${vmCacheDir()}): run \`pnpm vm --prepare\` once, then run crashtest again`,
    );
  }
  return { where: 'vm', reason: host.why };
}
