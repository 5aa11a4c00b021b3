import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { run } from '../run.js';
import { ensureTargets, kernelHasDeviceMapper, findLeftovers, orphanLedgers, reapOrphans, type DmTarget } from '../dm/index.js';
import { parseTargets } from '../dm/dmsetup.js';
import { prepareVm, readManifest, runInVm, vmCacheDir, initramfsIsCurrent } from '../vm/index.js';
import { PG_BIN_DIR } from '../bench/peers/pg-test-fsync.js';
import { watchLaunchers } from './launcher-watch.js';
import { BUILTIN_TARGETS } from '../targets/registry.js';
import { parseArgs } from './parse-args.js';

// pnpm doctor [--fix] [--quick]: is this machine ready for powercut's crash tests, and if not,
// exactly what is missing and how to get it. Exit 0 all good, 1 something missing, 2 usage.

type Status = 'ok' | 'missing' | 'note';
interface Check {
  name: string;
  status: Status;
  detail: string;
  /** Debian packages that fix it (--fix installs them). */
  apt?: string[];
  /** How to fix it by hand. */
  hint?: string;
  /** --fix: rebuild the VM cache. */
  prepareVm?: boolean;
}

const TARGETS = ['flakey', 'log-writes'] as const;

async function has(command: string): Promise<boolean> {
  const r = await run('sh', ['-c', `command -v ${command}`], { allowFailure: true });
  return r.exitCode === 0;
}

async function toolCheck(name: string, command: string, pkg: string, why: string): Promise<Check> {
  return (await has(command))
    ? { name, status: 'ok', detail: `${command} found` }
    : { name, status: 'missing', detail: `${command} not found (${why})`, apt: [pkg], hint: `apt-get install -y --no-install-recommends ${pkg}` };
}

function fmtTargets(targets: readonly DmTarget[]): string {
  return TARGETS.map((t) => {
    const found = targets.find((x) => x.name === t);
    return found ? `${t} v${found.version.join('.')}` : `${t} absent`;
  }).join(', ');
}

async function hostDmCheck(): Promise<Check> {
  const name = 'host device-mapper';
  if (!(await has('dmsetup'))) return { name, status: 'note', detail: 'cannot check without dmsetup' };
  if (!kernelHasDeviceMapper()) {
    await run('modprobe', ['dm-mod'], { allowFailure: true }).catch(() => undefined);
  }
  if (!kernelHasDeviceMapper()) {
    return { name, status: 'note', detail: 'this kernel has no device-mapper (not in /proc/misc): crash tests run in the microVM' };
  }
  try {
    const { present, missing } = await ensureTargets(TARGETS);
    return missing.length === 0
      ? { name, status: 'ok', detail: fmtTargets(present) }
      : { name, status: 'note', detail: `${fmtTargets(present)}: crash tests run in the microVM` };
  } catch (err) {
    return { name, status: 'note', detail: `dmsetup targets failed (${err instanceof Error ? err.message : String(err)}): crash tests run in the microVM` };
  }
}

function vmCacheCheck(): Check {
  const m = readManifest();
  if (!m) return { name: 'VM kernel cache', status: 'missing', detail: `nothing prepared in ${vmCacheDir()}`, hint: 'pnpm vm --prepare', prepareVm: true };
  return { name: 'VM kernel cache', status: 'ok', detail: `${m.kernelPackage} ${m.packageVersion} (${m.kernelRelease}) in ${vmCacheDir()}` };
}

async function vmBootCheck(): Promise<Check> {
  const name = 'VM device-mapper';
  try {
    const r = await runInVm(['dmsetup', 'targets'], { cwd: '/tmp', shares: [], timeoutMs: 120_000 });
    const targets = parseTargets(r.output);
    const missing = TARGETS.filter((t) => !targets.some((x) => x.name === t));
    if (r.exitCode !== 0 || missing.length > 0) {
      return {
        name,
        status: 'missing',
        detail: `in the VM: ${fmtTargets(targets)} (dmsetup exit ${r.exitCode})`,
        hint: 'pnpm vm --prepare --refresh',
        prepareVm: true,
      };
    }
    return { name, status: 'ok', detail: `${fmtTargets(targets)}; boot-to-command ${(r.bootMs / 1000).toFixed(1)} s` };
  } catch (err) {
    return {
      name,
      status: 'missing',
      detail: `the VM did not run: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
      hint: 'pnpm vm --prepare --refresh',
      prepareVm: true,
    };
  }
}

async function leftoverCheck(): Promise<Check> {
  const left = await findLeftovers();
  const orphans = orphanLedgers().map((o) => `${o.resources.length} resources of dead harness ${o.pid}`);
  const all = [...left.mounts, ...left.dmDevices, ...left.loopDevices, ...orphans];
  return all.length === 0
    ? { name: 'leftovers', status: 'ok', detail: 'no powercut devices, loops or mounts left behind' }
    : {
        name: 'leftovers',
        status: 'missing',
        detail: `left behind: ${all.join('; ')}`,
        hint: 'pnpm run doctor --fix (releases what dead harnesses registered)',
      };
}

async function checks(opts: { quick: boolean }): Promise<Check[]> {
  const out: Check[] = [];
  const root = process.getuid?.() === 0;
  out.push(
    root
      ? { name: 'root', status: 'ok', detail: 'running as root' }
      : { name: 'root', status: 'missing', detail: 'loop devices, mounts and dmsetup need root', hint: 'run as root (sudo -E pnpm ...)' },
  );
  out.push(await toolCheck('dmsetup', 'dmsetup', 'dmsetup', 'device-mapper control'));
  out.push(await toolCheck('losetup', 'losetup', 'util-linux', 'loop devices'));
  out.push(await toolCheck('mkfs.ext4', 'mkfs.ext4', 'e2fsprogs', 'ext4 test filesystems'));
  out.push(await toolCheck('mkfs.xfs', 'mkfs.xfs', 'xfsprogs', 'xfs test filesystems'));
  out.push(await toolCheck('mkfs.btrfs', 'mkfs.btrfs', 'btrfs-progs', 'btrfs test filesystems'));
  // The throughput suite's peers and the syscall-pattern tests: a missing one skips its cells or
  // tests with the reason, so each is a fixable gap rather than a broken lab.
  out.push(await toolCheck('strace', 'strace', 'strace', 'the syscall-pattern tests of each strategy'));
  out.push(await toolCheck('fio', 'fio', 'fio', 'the fio peer of pnpm bench'));
  out.push(await toolCheck('blktrace', 'blktrace', 'blktrace', "pnpm bench --block-trace (it runs in the microVM, on the host's programs)"));
  out.push(await toolCheck('pg_test_fsync', `${PG_BIN_DIR}/pg_test_fsync`, 'postgresql-15', 'the pg_test_fsync and pgbench peers of pnpm bench'));
  out.push(await toolCheck('python3', 'python3', 'python3', 'the example exec target, examples/targets/kvlog.py, and its tests'));
  // What each built-in target needs, in its own words: crashtest --target refuses it with the same line.
  for (const t of BUILTIN_TARGETS) {
    const missing = t.unavailable?.();
    out.push(
      missing === undefined
        ? { name: `target ${t.name}`, status: 'ok', detail: `crashtest --target ${t.name} can run` }
        : { name: `target ${t.name}`, status: 'missing', detail: missing, hint: `crashtest --target ${t.name} is refused until then` },
    );
  }
  const hostDm = await hostDmCheck();
  out.push(hostDm);
  // The microVM is needed only where the host kernel lacks the targets (and with --vm). There its
  // parts are required; on a host with device-mapper (the Vagrant box) their absence is a note.
  const vm: Check[] = [];
  vm.push(await toolCheck('qemu', 'qemu-system-x86_64', 'qemu-system-x86', 'the microVM'));
  vm.push(
    existsSync('/bin/busybox')
      ? { name: 'busybox', status: 'ok', detail: '/bin/busybox found' }
      : {
          name: 'busybox',
          status: 'missing',
          detail: '/bin/busybox (static) not found (the microVM initramfs)',
          apt: ['busybox-static'],
          hint: 'apt-get install -y --no-install-recommends busybox-static',
        },
  );
  vm.push(await toolCheck('cpio', 'cpio', 'cpio', 'the microVM initramfs'));
  vm.push(await toolCheck('kmod', 'depmod', 'kmod', 'module dependencies of the VM kernel'));
  vm.push(await toolCheck('xz', 'xz', 'xz-utils', 'uncompressing the VM kernel'));
  vm.push(await toolCheck('setpriv', 'setpriv', 'util-linux', 'the VM dies with its harness'));
  const cache = vmCacheCheck();
  if (cache.status === 'ok' && !(await initramfsIsCurrent())) {
    vm.push({ ...cache, status: 'missing', detail: `${cache.detail}: initramfs is out of date`, prepareVm: true });
  } else vm.push(cache);
  const vmReady = vm.every((c) => c.status !== 'missing' || !['qemu', 'VM kernel cache'].includes(c.name));
  if (!opts.quick && vmReady) vm.push(await vmBootCheck());
  const vmNeeded = hostDm.status !== 'ok';
  out.push(
    ...(vmNeeded
      ? vm
      : vm.map((c): Check =>
          c.status === 'missing' ? { ...c, status: 'note', detail: `${c.detail} (only the microVM needs it; this host has device-mapper)` } : c,
        )),
  );
  out.push(await leftoverCheck());
  return out;
}

function print(list: readonly Check[]): void {
  for (const c of list) {
    const tag = c.status === 'ok' ? 'ok     ' : c.status === 'note' ? 'note   ' : 'MISSING';
    console.log(`${tag} ${c.name}: ${c.detail}`);
    if (c.status === 'missing' && c.hint) console.log(`        fix: ${c.hint}`);
  }
}

async function fix(list: readonly Check[]): Promise<void> {
  const pkgs = [...new Set(list.filter((c) => c.status === 'missing').flatMap((c) => c.apt ?? []))];
  if (pkgs.length > 0) {
    console.log(`fixing: apt-get install ${pkgs.join(' ')}`);
    const env = { DEBIAN_FRONTEND: 'noninteractive' };
    const args = ['install', '-y', '-q', '--no-install-recommends', ...pkgs];
    const first = await run('apt-get', args, { env, allowFailure: true, timeoutMs: 15 * 60_000 });
    if (first.exitCode !== 0) {
      // Stale package lists are the usual reason on a fresh machine.
      await run('apt-get', ['update', '-q'], { env, timeoutMs: 10 * 60_000 });
      await run('apt-get', args, { env, timeoutMs: 15 * 60_000 });
    }
  }
  const reaped = await reapOrphans();
  for (const r of reaped)
    console.log(`fixing: released what dead harness ${r.pid} left: ${r.released.join(', ')}${r.failures.length ? ` (failed: ${r.failures.join('; ')})` : ''}`);
  if (list.some((c) => c.status === 'missing' && c.prepareVm)) {
    console.log('fixing: preparing the VM kernel cache');
    const r = await prepareVm({
      refresh: list.some((c) => c.name === 'VM device-mapper' && c.status === 'missing'),
      progress: (l) => console.log(`        ${l}`),
    });
    console.log(`        ${r.status === 'built' ? `built in ${(r.ms / 1000).toFixed(1)} s` : 'already up to date'}`);
  }
}

async function main(argv: string[]): Promise<number> {
  watchLaunchers();
  const program = new Command('doctor')
    .description('check that this machine can run powercut (root, dmsetup, dm targets, mkfs tools, qemu, VM kernel cache)')
    .option('--fix', 'install missing apt packages, prepare the VM kernel cache, release leftovers of dead harnesses')
    .option('--quick', 'do not boot the VM to check its device-mapper targets')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  const usage = parseArgs(program, argv);
  if (usage !== undefined) return usage;
  const opts = program.opts<{ fix?: boolean; quick?: boolean }>();
  let list = await checks({ quick: opts.quick === true });
  if (opts.fix && list.some((c) => c.status === 'missing')) {
    print(list);
    await fix(list);
    console.log('after fixing:');
    list = await checks({ quick: opts.quick === true });
  }
  print(list);
  const missing = list.filter((c) => c.status === 'missing');
  console.log(missing.length === 0 ? 'all good' : `${missing.length} missing${opts.fix ? '' : ': pnpm doctor --fix installs what it can'}`);
  return missing.length === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`doctor: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
