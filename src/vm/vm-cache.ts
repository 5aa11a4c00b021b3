import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

// Where the kernel and initramfs are cached: $POWERCUT_CACHE/vm, else ~/.cache/powercut/vm
// ($XDG_CACHE_HOME respected). Nothing ever goes into the host's /boot or /lib/modules.
export function vmCacheDir(): string {
  if (process.env.POWERCUT_CACHE) return join(process.env.POWERCUT_CACHE, 'vm');
  const base = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(base, 'powercut', 'vm');
}

// What a prepared cache holds. Written last, by rename, so its presence means "complete".
export interface VmManifest {
  /** Debian package the kernel came from, e.g. linux-image-6.1.0-56-amd64. */
  kernelPackage: string;
  /** Package version, e.g. 6.1.192-2. */
  packageVersion: string;
  /** Kernel release (uname -r), e.g. 6.1.0-56-amd64. */
  kernelRelease: string;
  vmlinuz: string;
  /** The extracted tree whose lib/modules/<release> the guest bind-mounts for modprobe. */
  kernelRoot: string;
  initramfs: string;
  /** Hash of the initramfs inputs (init script, module list, busybox): a change rebuilds it. */
  initramfsKey: string;
  preparedAt: string;
}

const MANIFEST = 'manifest.json';

export function readManifest(dir = vmCacheDir()): VmManifest | undefined {
  const path = join(dir, MANIFEST);
  if (!existsSync(path)) return undefined;
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as VmManifest;
    // A manifest whose files were deleted by hand is no cache at all.
    if (!existsSync(m.vmlinuz) || !existsSync(m.initramfs) || !existsSync(m.kernelRoot)) return undefined;
    return m;
  } catch {
    return undefined;
  }
}

export function writeManifest(m: VmManifest, dir = vmCacheDir()): void {
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `${MANIFEST}.tmp`);
  writeFileSync(tmp, JSON.stringify(m, null, 2) + '\n');
  renameSync(tmp, join(dir, MANIFEST));
}
