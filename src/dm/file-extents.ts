import { DeviceError } from './device-error.js';
import { runTool } from './tool.js';

// Where a file's bytes live on its block device, in 512-byte sectors (FIEMAP through `filefrag`,
// which reads it on ext4, xfs and btrfs alike). The crash harness uses it to make writes to one
// file's blocks fail while the rest of the device, and every flush, keeps working: the fault that
// shows a WAL which retries a failed fdatasync (the retry finds the pages already clean, flushes,
// and "succeeds" without the data).

/** A run of sectors on the device: [start, start + length). */
export interface SectorRange {
  start: number;
  length: number;
}

// `filefrag -v -b512` prints one line per extent:
//    0:        0..     255:   68693248..  68693503:    256:             last,eof
// Extents flagged unknown_loc or delalloc have no place on the device yet and are left out; so
// are inline ones (their bytes sit in the inode, where a block fault cannot reach them).
/** Parse `filefrag -v -b512` output into device sector ranges. */
export function parseFilefrag(output: string): SectorRange[] {
  const ranges: SectorRange[] = [];
  for (const line of output.split('\n')) {
    const m = /^\s*\d+:\s+\d+\.\.\s*\d+:\s+(\d+)\.\.\s*(\d+):\s+(\d+):(.*)$/.exec(line);
    if (m === null) continue;
    if (/unknown_loc|delalloc|inline/.test(m[4] ?? '')) continue;
    const start = Number(m[1]);
    const length = Number(m[3]);
    if (Number(m[2]) - start + 1 !== length) throw new DeviceError('TOOL_FAILED', `filefrag extent line does not add up: ${line.trim()}`);
    ranges.push({ start, length });
  }
  return ranges;
}

/** Sorted, merged ranges (adjacent or overlapping ones joined). */
export function mergeRanges(ranges: readonly SectorRange[]): SectorRange[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const out: SectorRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && r.start <= last.start + last.length) last.length = Math.max(last.length, r.start + r.length - last.start);
    else out.push({ ...r });
  }
  return out;
}

/** The device sectors holding `file`'s data (the file must be synced: unwritten delalloc has none). */
export async function fileExtents(file: string): Promise<SectorRange[]> {
  const r = await runTool('filefrag', ['-v', '-b512', file]);
  return parseFilefrag(r.stdout);
}
