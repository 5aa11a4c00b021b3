import { DeviceError } from './device-error.js';

// One line of a device-mapper table: `<start> <length> <target> <args...>` (sectors of 512 bytes).
export interface DmTableLine {
  start: number;
  length: number;
  target: string;
  args: readonly (string | number)[];
}

// A table as dmsetup reads it on stdin. Arguments must not contain whitespace: the kernel splits
// on it, so such an argument would silently become two.
export function formatTable(lines: readonly DmTableLine[]): string {
  if (lines.length === 0) throw new DeviceError('BAD_ARGUMENT', 'a device-mapper table needs at least one line');
  return lines
    .map((l) => {
      if (!Number.isSafeInteger(l.start) || l.start < 0) throw new DeviceError('BAD_ARGUMENT', `table start ${l.start} is not a sector number`);
      if (!Number.isSafeInteger(l.length) || l.length <= 0) throw new DeviceError('BAD_ARGUMENT', `table length ${l.length} must be a positive sector count`);
      if (!/^[a-z0-9_-]+$/.test(l.target)) throw new DeviceError('BAD_ARGUMENT', `target name ${JSON.stringify(l.target)} is not valid`);
      for (const a of l.args) {
        const s = String(a);
        if (s.length === 0 || /\s/.test(s)) throw new DeviceError('BAD_ARGUMENT', `table argument ${JSON.stringify(s)} is empty or has whitespace`);
      }
      return [l.start, l.length, l.target, ...l.args].join(' ');
    })
    .join('\n');
}

// Device-mapper names become /dev/mapper/NAME and appear in `dmsetup ls`; keep them plain.
export function checkDmName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,126}$/.test(name)) {
    throw new DeviceError('BAD_ARGUMENT', `device-mapper name ${JSON.stringify(name)}: use letters, digits, . _ - (at most 127)`);
  }
}

export function mapperPath(name: string): string {
  return `/dev/mapper/${name}`;
}

// A dm-linear table: `sectors` of `device` from `offset` on, at 0 of the new device (one slice
// of a device as a block device of its own, like a partition).
export function linearTable(device: string, offset: number, sectors: number): DmTableLine[] {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new DeviceError('BAD_ARGUMENT', `linear offset ${offset} is not a sector number`);
  return [{ start: 0, length: sectors, target: 'linear', args: [device, offset] }];
}
