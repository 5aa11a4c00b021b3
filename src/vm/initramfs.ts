import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run, RunError } from '../run.js';
import { initScript } from './guest-init.js';
import { VmError } from './vm-error.js';

// Modules /init loads, in this order (dependencies are added before each). Device-mapper and its
// two crash targets, loop, the three filesystems under test (+ crc32c_generic, which ext4's
// checksums want), 9p over virtio for the shares, overlay for the writable root.
export const GUEST_MODULES = [
  'virtio_pci',
  'virtio-rng',
  '9pnet_virtio',
  '9p',
  'overlay',
  'loop',
  'dm-mod',
  'dm-flakey',
  'dm-log-writes',
  'crc32c_generic',
  'ext4',
  'xfs',
  'btrfs',
] as const;

export const BUSYBOX = '/bin/busybox';

// Turns `modprobe --show-depends` output into module paths relative to lib/modules/<release>,
// dropping built-ins and duplicates, keeping dependency order.
export function parseShowDepends(output: string, modulesDir: string, seen: Set<string>): string[] {
  const out: string[] = [];
  for (const line of output.split('\n')) {
    const m = /^insmod\s+(\S+)/.exec(line.trim());
    if (!m) continue;
    const path = m[1]!;
    const rel = path.startsWith(`${modulesDir}/`) ? path.slice(modulesDir.length + 1) : path;
    if (seen.has(rel)) continue;
    seen.add(rel);
    out.push(rel);
  }
  return out;
}

async function tool(command: string, args: readonly string[], cwd?: string, input?: string): Promise<string> {
  try {
    return (await run(command, args, { cwd, input, timeoutMs: 5 * 60_000 })).stdout;
  } catch (err) {
    throw new VmError('PREPARE_FAILED', err instanceof RunError ? err.message : String(err), { cause: err });
  }
}

// The ordered module list for a kernel tree (resolved by the host's kmod against the cache).
export async function resolveModules(kernelRoot: string, kernelRelease: string): Promise<string[]> {
  const modulesDir = join(kernelRoot, 'lib', 'modules', kernelRelease);
  const seen = new Set<string>();
  const list: string[] = [];
  for (const name of GUEST_MODULES) {
    const out = await tool('modprobe', ['-d', kernelRoot, '-S', kernelRelease, '--show-depends', name]);
    list.push(...parseShowDepends(out, modulesDir, seen));
  }
  return list;
}

// Identifies one set of initramfs inputs; a cached initramfs with another key is rebuilt.
export function initramfsKey(kernelRelease: string, modules: readonly string[], busyboxStamp: string): string {
  return createHash('sha256')
    .update(initScript(kernelRelease))
    .update('\0')
    .update(modules.join('\n'))
    .update('\0')
    .update(busyboxStamp)
    .digest('hex')
    .slice(0, 16);
}

export function busyboxStamp(): string {
  try {
    const s = statSync(BUSYBOX);
    return `${s.size}:${s.mtimeMs}`;
  } catch (err) {
    throw new VmError('PREPARE_FAILED', `${BUSYBOX} is missing: apt-get install busybox-static`, { cause: err });
  }
}

// Builds an uncompressed newc cpio (the kernel unpacks it without a decompressor, which under
// TCG is measurably faster than gunzip) with busybox, /init and the modules.
export async function buildInitramfs(opts: { kernelRoot: string; kernelRelease: string; modules: readonly string[]; out: string }): Promise<void> {
  const stage = mkdtempSync(join(dirname(opts.out), 'initramfs-'));
  try {
    const files: string[] = [];
    const add = (rel: string) => files.push(rel);
    for (const d of ['bin', 'proc', 'sys', 'dev', 'lib', 'lib/modules', `lib/modules/${opts.kernelRelease}`]) {
      mkdirSync(join(stage, d), { recursive: true });
      add(d);
    }
    if (readFileSync(BUSYBOX).subarray(0, 4).toString('latin1') !== '\x7fELF')
      throw new VmError('PREPARE_FAILED', `${BUSYBOX} is not an ELF binary (is busybox-static installed?)`);
    copyFileSync(BUSYBOX, join(stage, 'bin', 'busybox'));
    chmodSync(join(stage, 'bin', 'busybox'), 0o755);
    add('bin/busybox');
    writeFileSync(join(stage, 'init'), initScript(opts.kernelRelease), { mode: 0o755 });
    add('init');
    writeFileSync(join(stage, 'modules.list'), opts.modules.join('\n') + '\n');
    add('modules.list');
    const srcModules = join(opts.kernelRoot, 'lib', 'modules', opts.kernelRelease);
    const made = new Set<string>();
    for (const rel of opts.modules) {
      const dest = join('lib', 'modules', opts.kernelRelease, rel);
      let dir = dirname(dest);
      const chain: string[] = [];
      while (!made.has(dir) && dir !== `lib/modules/${opts.kernelRelease}`) {
        chain.unshift(dir);
        dir = dirname(dir);
      }
      for (const d of chain) {
        mkdirSync(join(stage, d), { recursive: true });
        made.add(d);
        add(d);
      }
      copyFileSync(join(srcModules, rel), join(stage, dest));
      add(dest);
    }
    const tmpOut = `${opts.out}.tmp`;
    await tool('cpio', ['--quiet', '-o', '-H', 'newc', '-R', '0:0', '-O', tmpOut], stage, files.join('\n') + '\n');
    renameSync(tmpOut, opts.out);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
