import { existsSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, sep } from 'node:path';
import { parseMountInfo, type MountEntry } from '../dm/mountinfo.js';

// The counters of one block device that explain where a commit's time goes.
export interface DiskCounters {
  /** Writes completed (column 8 of a /proc/diskstats line, counting major and minor as 1 and 2). */
  writes: number;
  /** 512-byte sectors written (column 10). */
  sectors: number;
  /** Flush requests completed (column 19); null on kernels older than 5.5, which lack the column. */
  flushes: number | null;
}

// Parses /proc/diskstats (Documentation/admin-guide/iostats.rst) into counters by device name.
// Columns are counted over the whole line: 1 major, 2 minor, 3 name, 4 reads completed, ...,
// 8 writes completed, 10 sectors written, 19 flushes completed.
export function parseDiskstats(text: string): Map<string, DiskCounters> {
  const out = new Map<string, DiskCounters>();
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 14) continue;
    const name = cols[2];
    const writes = Number(cols[7]);
    const sectors = Number(cols[9]);
    if (name === undefined || !Number.isFinite(writes) || !Number.isFinite(sectors)) continue;
    const flushCol = cols[18];
    out.set(name, { writes, sectors, flushes: flushCol === undefined ? null : Number(flushCol) });
  }
  return out;
}

// What a device did between two readings.
export function counterDelta(before: DiskCounters, after: DiskCounters): DiskCounters {
  return {
    writes: after.writes - before.writes,
    sectors: after.sectors - before.sectors,
    flushes: before.flushes === null || after.flushes === null ? null : after.flushes - before.flushes,
  };
}

export function addCounters(a: DiskCounters, b: DiskCounters): DiskCounters {
  return {
    writes: a.writes + b.writes,
    sectors: a.sectors + b.sectors,
    flushes: a.flushes === null || b.flushes === null ? null : a.flushes + b.flushes,
  };
}

export interface PerCommit {
  writesPerCommit: number;
  kibPerCommit: number;
  flushesPerCommit: number | null;
}

// Device work per commit: what one durable append cost the disk.
export function perCommit(delta: DiskCounters, commits: number): PerCommit {
  const n = Math.max(commits, 1);
  return {
    writesPerCommit: delta.writes / n,
    kibPerCommit: (delta.sectors * 512) / 1024 / n,
    flushesPerCommit: delta.flushes === null ? null : delta.flushes / n,
  };
}

// The mount holding a path: the longest mount point that is a prefix of it (the last one wins
// when mounts are stacked on the same point, as the kernel's table lists them in mount order).
export function mountOf(path: string, table: readonly MountEntry[]): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const m of table) {
    const inside = path === m.mountPoint || m.mountPoint === '/' || path.startsWith(m.mountPoint + sep);
    if (inside && (best === undefined || m.mountPoint.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

export interface BlockDevice {
  /** Kernel name as in /proc/diskstats (vda, loop3, nvme0n1p2). */
  name: string;
  /** The whole disk when `name` is a partition, else the same as name. */
  disk: string;
}

// Kernel name of a block device from its "major:minor", through sysfs.
function nameOfDevId(devId: string): BlockDevice | undefined {
  const link = `/sys/dev/block/${devId}`;
  if (!existsSync(link)) return undefined;
  const real = realpathSync(link);
  const name = basename(real);
  const disk = existsSync(`${real}/partition`) ? basename(dirname(real)) : name;
  return { name, disk };
}

function devIdOfNode(path: string): string | undefined {
  try {
    const rdev = statSync(path, { bigint: true }).rdev;
    // glibc's encoding of dev_t (gnu_dev_major / gnu_dev_minor).
    const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
    const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
    return `${major}:${minor}`;
  } catch {
    return undefined;
  }
}

/** The kernel name of a block device node (/dev/mapper/NAME is dm-N), through its major:minor. */
export function blockDeviceOfNode(node: string): BlockDevice | undefined {
  const devId = devIdOfNode(node);
  return devId === undefined ? undefined : nameOfDevId(devId);
}

// The block device whose counters a directory's writes land in: vda for the host fs, the loop
// device for a loop-image mount. btrfs reports an anonymous 0:N device in mountinfo, so the
// mount's source device node is asked instead. Undefined when there is none (tmpfs, overlay, 9p).
export function backingDevice(dir: string): BlockDevice | undefined {
  const path = realpathSync(dir);
  const mount = mountOf(path, parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8')));
  if (!mount) return undefined;
  const direct = mount.devId.startsWith('0:') ? undefined : nameOfDevId(mount.devId);
  if (direct) return direct;
  if (!mount.source.startsWith('/dev/')) return undefined;
  const viaNode = devIdOfNode(mount.source);
  return viaNode ? nameOfDevId(viaNode) : undefined;
}

// The file behind a loop device (/sys/block/loopN/loop/backing_file), to follow flushes down to the disk.
export function loopBackingFile(loopName: string): string | undefined {
  try {
    return readFileSync(`/sys/block/${loopName}/loop/backing_file`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

// Reads the counters of the named devices now.
export function readCounters(names: readonly string[]): Map<string, DiskCounters> {
  const all = parseDiskstats(readFileSync('/proc/diskstats', 'utf8'));
  const out = new Map<string, DiskCounters>();
  for (const n of names) {
    const c = all.get(n);
    if (c) out.set(n, c);
  }
  return out;
}

// The I/O scheduler of a disk ("[none] mq-deadline"): ionice classes only act under bfq.
export function ioScheduler(disk: string): string | undefined {
  try {
    return readFileSync(`/sys/block/${disk}/queue/scheduler`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

// The bracketed (active) one of a scheduler line: "none [mq-deadline] kyber bfq" -> mq-deadline.
export function activeScheduler(line: string | undefined): string | undefined {
  return line === undefined ? undefined : (/\[([^\]]+)\]/.exec(line)?.[1] ?? (line.trim() || undefined));
}

// Whether a scheduler line offers `name` at all.
export function offersScheduler(line: string | undefined, name: string): boolean {
  return line !== undefined && line.replace(/[[\]]/g, ' ').split(/\s+/).includes(name);
}

// Whether the active scheduler of a device orders requests by their ionice class: bfq always;
// mq-deadline since Linux 5.14, which shows as its prio_aging_expire tunable; none and kyber never.
export function classesCanAct(device: string): boolean {
  const active = activeScheduler(ioScheduler(device));
  if (active === 'bfq') return true;
  return active === 'mq-deadline' && existsSync(`/sys/block/${device}/queue/iosched/prio_aging_expire`);
}

// Switches the I/O scheduler of a device of ours (a loop device the suite made); the kernel refuses
// a name it does not offer with EINVAL.
export function setScheduler(device: string, name: string): void {
  writeFileSync(`/sys/block/${device}/queue/scheduler`, name);
}

// "write back" or "write through": whether flushes reach a volatile cache at all.
export function writeCacheMode(disk: string): string | undefined {
  try {
    return readFileSync(`/sys/block/${disk}/queue/write_cache`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

// Whether the loop driver opens its backing file with O_DIRECT (1) or through the page cache (0).
export function loopDirectIo(loopName: string): boolean | undefined {
  try {
    return readFileSync(`/sys/block/${loopName}/loop/dio`, 'utf8').trim() === '1';
  } catch {
    return undefined;
  }
}

function sysfs(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

// What a reader needs to know of the disk behind a figure: what it is, whether a flush has a
// volatile cache to empty, whether it seeks, and which scheduler orders its queue.
export interface DiskInfo {
  disk: string;
  /** The device's model string (SCSI/SATA/NVMe: device/model), or its bus and ids (virtio), or undefined (loop, zram). */
  model: string | undefined;
  writeCache: string | undefined;
  rotational: boolean | undefined;
  scheduler: string | undefined;
  /** The active scheduler orders requests by ionice class (classesCanAct). */
  classesCanAct: boolean;
}

export function diskInfo(disk: string): DiskInfo {
  const dev = `/sys/block/${disk}/device`;
  let model = sysfs(`${dev}/model`);
  if (model === undefined && existsSync(`${dev}/driver`)) {
    const driver = basename(realpathSync(`${dev}/driver`));
    const ids = [sysfs(`${dev}/vendor`), sysfs(`${dev}/device`)].filter(Boolean).join(':');
    model = `${driver}${ids ? ` (${ids})` : ''}`;
  }
  const rot = sysfs(`/sys/block/${disk}/queue/rotational`);
  return {
    disk,
    model,
    writeCache: writeCacheMode(disk),
    rotational: rot === undefined ? undefined : rot === '1',
    scheduler: ioScheduler(disk),
    classesCanAct: classesCanAct(disk),
  };
}
