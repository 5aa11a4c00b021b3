import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { logger } from '../log.js';
import { buildInitramfs, busyboxStamp, initramfsKey, resolveModules } from './initramfs.js';
import { fetchKernel, resolveKernelPackage } from './kernel-package.js';
import { readManifest, vmCacheDir, writeManifest, type VmManifest } from './vm-cache.js';

const log = logger('vm-prepare');

export interface PrepareOptions {
  /** Resolve linux-image-amd64 again and fetch its current kernel even if one is cached. */
  refresh?: boolean;
  /** Progress lines for a human (the CLI passes console.error). */
  progress?: (line: string) => void;
}

export type PrepareResult = { status: 'cached'; manifest: VmManifest } | { status: 'built'; manifest: VmManifest; kernelFetched: boolean; ms: number };

// Makes the VM cache ready: kernel (once) and initramfs (again only when its inputs change).
// Idempotent and non-interactive, so CI calls it every time (`pnpm vm --prepare`).
export async function prepareVm(opts: PrepareOptions = {}): Promise<PrepareResult> {
  const started = Date.now();
  const say = opts.progress ?? (() => undefined);
  const dir = vmCacheDir();
  const cached = readManifest(dir);
  let kernel = cached && !opts.refresh ? cached : undefined;
  let kernelFetched = false;
  if (!kernel) {
    say('resolving linux-image-amd64 ...');
    const pkg = await resolveKernelPackage();
    say(`downloading and unpacking ${pkg} into ${dir}/kernels ...`);
    kernel = { ...(await fetchKernel(join(dir, 'kernels'), pkg)), initramfs: '', initramfsKey: '', preparedAt: '' };
    kernelFetched = true;
  }
  const modules = await resolveModules(kernel.kernelRoot, kernel.kernelRelease);
  const key = initramfsKey(kernel.kernelRelease, modules, busyboxStamp());
  if (cached && !kernelFetched && cached.initramfsKey === key && existsSync(cached.initramfs)) {
    return { status: 'cached', manifest: cached };
  }
  const initramfs = join(dir, `initramfs-${kernel.kernelRelease}-${key}.cpio`);
  say(`building ${initramfs} (${modules.length} modules) ...`);
  await buildInitramfs({ kernelRoot: kernel.kernelRoot, kernelRelease: kernel.kernelRelease, modules, out: initramfs });
  const manifest: VmManifest = {
    kernelPackage: kernel.kernelPackage,
    packageVersion: kernel.packageVersion,
    kernelRelease: kernel.kernelRelease,
    vmlinuz: kernel.vmlinuz,
    kernelRoot: kernel.kernelRoot,
    initramfs,
    initramfsKey: key,
    preparedAt: new Date().toISOString(),
  };
  writeManifest(manifest, dir);
  removeStale(dir, manifest);
  log.info({ manifest }, 'vm cache prepared');
  return { status: 'built', manifest, kernelFetched, ms: Date.now() - started };
}

// Old kernels and initramfs images are 100+ MB each; only the manifest's are kept.
function removeStale(dir: string, keep: VmManifest): void {
  for (const f of readdirSync(dir)) {
    if (f.startsWith('initramfs-') && join(dir, f) !== keep.initramfs) rmSync(join(dir, f), { recursive: true, force: true });
  }
  const kernels = join(dir, 'kernels');
  if (!existsSync(kernels)) return;
  for (const k of readdirSync(kernels)) {
    if (join(kernels, k) !== keep.kernelRoot) rmSync(join(kernels, k), { recursive: true, force: true });
  }
}

// Whether the cached initramfs was built from the current inputs (init script, modules, busybox).
export async function initramfsIsCurrent(): Promise<boolean> {
  const m = readManifest();
  if (!m) return false;
  try {
    const modules = await resolveModules(m.kernelRoot, m.kernelRelease);
    return initramfsKey(m.kernelRelease, modules, busyboxStamp()) === m.initramfsKey;
  } catch {
    return false;
  }
}
