import { DeviceError } from '../device-error.js';
import type { DmTableLine } from '../dm-table.js';
import { dmMessage, dmStatus } from '../dmsetup.js';

// Table of a dm-log-writes device: every write to it goes to `device` and is also appended,
// with its flags, to the log on `logDevice` (drivers/md/dm-log-writes.c).
export function logWritesTable(device: string, logDevice: string, sectors: number): DmTableLine[] {
  if (!Number.isSafeInteger(sectors) || sectors <= 0) throw new DeviceError('BAD_ARGUMENT', `log-writes length ${sectors} must be a positive sector count`);
  return [{ start: 0, length: sectors, target: 'log-writes', args: [device, logDevice] }];
}

// The kernel copies a mark label into one log block after the 32-byte entry header and needs
// a terminating NUL: at most sectorsize - 33 bytes. `dmsetup message` splits on whitespace.
export function checkMarkLabel(label: string, sectorSize = 512): void {
  const bytes = Buffer.byteLength(label);
  if (bytes === 0 || bytes > sectorSize - 33 || /\s/.test(label)) {
    throw new DeviceError('BAD_ARGUMENT', `log-writes mark ${JSON.stringify(label)}: 1-${sectorSize - 33} bytes, no whitespace`);
  }
}

export function markMessage(label: string, sectorSize = 512): string[] {
  checkMarkLabel(label, sectorSize);
  return ['mark', label];
}

export interface LogWritesStatus {
  /** Entries logged so far (the super block's nr_entries lags until the next FUA/mark). */
  entries: number;
  /** Highest allocated sector of the log device, in 512-byte sectors: the kernel prints
   *  next_sector - 1, so the log's bytes end at (highestSector + 1) * 512. */
  highestSector: number;
  /** The target hit an error writing its log and stopped logging: the log is incomplete. */
  loggingDisabled: boolean;
}

// Parses the status words of a log-writes line: `<#logged entries> <highest allocated sector>`
// and, after a log-device error, `logging_disabled`.
export function parseLogWritesStatus(line: DmTableLine): LogWritesStatus {
  if (line.target !== 'log-writes') throw new DeviceError('PARSE_FAILED', `expected a log-writes status line, got target ${line.target}`);
  const [entries, next, ...rest] = line.args.map(String);
  if (!entries || !next || !/^\d+$/.test(entries) || !/^\d+$/.test(next)) {
    throw new DeviceError('PARSE_FAILED', `log-writes status ${JSON.stringify(line.args.join(' '))} is not "<entries> <sector>"`);
  }
  return { entries: Number(entries), highestSector: Number(next), loggingDisabled: rest.includes('logging_disabled') };
}

// Appends a mark entry to the log (and makes the kernel rewrite the super block's entry count).
export async function logWritesMark(name: string, label: string, sectorSize = 512): Promise<void> {
  await dmMessage(name, markMessage(label, sectorSize));
}

// The live entry count and log position of a log-writes device.
export async function logWritesStatus(name: string): Promise<LogWritesStatus> {
  const lines = await dmStatus(name);
  const line = lines[0];
  if (!line || lines.length !== 1) throw new DeviceError('PARSE_FAILED', `dmsetup status ${name}: expected one log-writes line, got ${lines.length}`);
  return parseLogWritesStatus(line);
}
