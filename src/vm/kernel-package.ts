import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { run, RunError } from '../run.js';
import { VmError } from './vm-error.js';

// Runs a preparation step; its failure becomes PREPARE_FAILED with the tool's words.
async function step(command: string, args: readonly string[], cwd?: string): Promise<string> {
  try {
    return (await run(command, args, { cwd, timeoutMs: 10 * 60_000 })).stdout;
  } catch (err) {
    const why = err instanceof RunError ? err.message : String(err);
    throw new VmError('PREPARE_FAILED', why, { cause: err });
  }
}

// The concrete kernel package behind Debian's linux-image-amd64 meta-package right now. Its
// ABI number moves with every point release, so it is resolved, never pinned.
export function parseKernelDependency(aptCacheDependsOutput: string): string | undefined {
  const m = /Depends:\s*(linux-image-[0-9][^\s]*-amd64)\b/.exec(aptCacheDependsOutput);
  return m?.[1];
}

export async function resolveKernelPackage(): Promise<string> {
  const out = await step('apt-cache', ['depends', 'linux-image-amd64']);
  const pkg = parseKernelDependency(out);
  if (!pkg) throw new VmError('PREPARE_FAILED', 'apt-cache knows no linux-image-amd64 dependency: run `apt-get update` first (Debian 12 sources needed)');
  return pkg;
}

// Module directories the guest may ever need (device-mapper, loop, filesystems, 9p, virtio,
// crypto for checksums). The rest of the 400 MB tree (GPUs, NICs, sound) is pruned from the cache.
const KEEP_MODULE_DIRS = ['fs', 'crypto', 'lib', 'arch', 'net/9p', 'drivers/md', 'drivers/block', 'drivers/virtio', 'drivers/char', 'drivers/nvdimm'];

export interface ExtractedKernel {
  kernelPackage: string;
  packageVersion: string;
  kernelRelease: string;
  kernelRoot: string;
  vmlinuz: string;
}

// Downloads the package (apt-get download: no install, nothing in /boot), unpacks it into
// `into/<package>_<version>`, prunes unneeded modules and runs depmod so modprobe can resolve
// dependencies inside the guest.
export async function fetchKernel(into: string, kernelPackage: string): Promise<ExtractedKernel> {
  mkdirSync(into, { recursive: true });
  const work = mkdtempSync(join(into, 'download-'));
  try {
    await step('apt-get', ['download', '-q', kernelPackage], work);
    const deb = readdirSync(work).find((f) => f.endsWith('.deb'));
    if (!deb) throw new VmError('PREPARE_FAILED', `apt-get download ${kernelPackage} left no .deb`);
    const packageVersion = (await step('dpkg-deb', ['--field', join(work, deb), 'Version'])).trim();
    const unpack = join(work, 'root');
    await step('dpkg-deb', ['-x', join(work, deb), unpack]);
    const releases = readdirSync(join(unpack, 'lib', 'modules'));
    const kernelRelease = releases[0];
    if (!kernelRelease || releases.length !== 1)
      throw new VmError('PREPARE_FAILED', `${deb}: expected one lib/modules/<release>, found ${releases.join(', ') || 'none'}`);
    const kernelDir = join(unpack, 'lib', 'modules', kernelRelease, 'kernel');
    pruneModules(kernelDir, '');
    await step('depmod', ['-b', unpack, kernelRelease]);
    const kernelRoot = join(into, `${kernelPackage}_${packageVersion}`);
    rmSync(kernelRoot, { recursive: true, force: true });
    rmSync(join(unpack, 'usr'), { recursive: true, force: true });
    renameSync(unpack, kernelRoot);
    const bzImage = join(kernelRoot, 'boot', `vmlinuz-${kernelRelease}`);
    if (!existsSync(bzImage)) throw new VmError('PREPARE_FAILED', `${deb} has no boot/vmlinuz-${kernelRelease}`);
    const vmlinuz = await uncompressedKernel(kernelRoot, kernelRelease, bzImage);
    return { kernelPackage, packageVersion, kernelRelease, kernelRoot, vmlinuz };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function pruneModules(dir: string, rel: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    if (KEEP_MODULE_DIRS.includes(path)) continue;
    if (KEEP_MODULE_DIRS.some((k) => k.startsWith(`${path}/`))) {
      pruneModules(join(dir, entry.name), path);
      continue;
    }
    rmSync(join(dir, entry.name), { recursive: true, force: true });
  }
}

const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);

// Debian's bzImage is xz-compressed, and under TCG the kernel's own decompressor takes about 6 s
// of a 15 s budget. qemu can boot the uncompressed ELF vmlinux directly through its PVH entry
// point (CONFIG_PVH=y), so the cache keeps an uncompressed copy. Falls back to the bzImage when
// the kernel lacks PVH or is not xz-compressed.
export async function uncompressedKernel(kernelRoot: string, kernelRelease: string, bzImage: string): Promise<string> {
  const config = join(kernelRoot, 'boot', `config-${kernelRelease}`);
  if (!existsSync(config) || !/^CONFIG_PVH=y$/m.test(readFileSync(config, 'utf8'))) return bzImage;
  const offset = readFileSync(bzImage).indexOf(XZ_MAGIC);
  if (offset < 0) return bzImage;
  const out = join(kernelRoot, 'boot', `vmlinux-${kernelRelease}`);
  // --single-stream: the bzImage appends the decompressed size after the xz stream.
  await step('sh', ['-c', `tail -c +${offset + 1} "$1" | xz -dc --single-stream > "$2"`, 'sh', bzImage, out]);
  if (readFileSync(out).subarray(0, 4).toString('latin1') !== '\x7fELF' || statSync(out).size < 1 << 20) return bzImage;
  return out;
}
