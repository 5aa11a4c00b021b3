import { describe, expect, it } from 'vitest';
import {
  DeviceError,
  flakeyFeatureSupported,
  flakeyFaultTable,
  flakeyPassThroughTable,
  flakeyTable,
  formatTable,
  logWritesTable,
  parseLogWritesStatus,
  parseTableText,
  markMessage,
  checkDmName,
  linearTable,
} from '../../src/dm/index.js';

describe('device-mapper table strings', () => {
  it('formats a flakey pass-through table as xfstests does (up forever, down 0)', () => {
    expect(formatTable(flakeyPassThroughTable('/dev/loop3', 2048))).toBe('0 2048 flakey /dev/loop3 0 1 0');
  });

  it('formats a linear slice (one of the two devices over one flakey device) and refuses a bad offset', () => {
    expect(formatTable(linearTable('/dev/mapper/powercut-1-crash-2dev', 1024, 2048))).toBe('0 2048 linear /dev/mapper/powercut-1-crash-2dev 1024');
    expect(() => linearTable('/dev/loop3', -8, 2048)).toThrow(DeviceError);
    expect(() => formatTable(linearTable('/dev/loop3', 0, 0))).toThrow(/positive sector count/);
  });

  it('formats the power-cut table with drop_writes and a feature count of 1', () => {
    expect(formatTable(flakeyFaultTable('/dev/loop3', 2048))).toBe('0 2048 flakey /dev/loop3 0 0 180 1 drop_writes');
    expect(formatTable(flakeyFaultTable('/dev/loop3', 2048, 'error_writes'))).toBe('0 2048 flakey /dev/loop3 0 0 180 1 error_writes');
  });

  it('counts argument words, not features, for corrupt_bio_byte', () => {
    const t = flakeyTable({
      device: '/dev/loop0',
      sectors: 100,
      offset: 8,
      upSecs: 5,
      downSecs: 2,
      features: [{ kind: 'corrupt_bio_byte', nthByte: 32, direction: 'w', value: 1, flags: 0 }, { kind: 'error_reads' }],
    });
    expect(formatTable(t)).toBe('0 100 flakey /dev/loop0 8 5 2 6 corrupt_bio_byte 32 w 1 0 error_reads');
  });

  it('refuses drop_writes together with error_writes, and a zero total interval', () => {
    expect(() =>
      flakeyTable({ device: '/dev/loop0', sectors: 8, upSecs: 0, downSecs: 1, features: [{ kind: 'drop_writes' }, { kind: 'error_writes' }] }),
    ).toThrow(/exclude/);
    expect(() => flakeyTable({ device: '/dev/loop0', sectors: 8, upSecs: 0, downSecs: 0 })).toThrow(/positive/);
  });

  it('refuses arguments with whitespace, which the kernel would split in two', () => {
    expect(() => formatTable([{ start: 0, length: 8, target: 'linear', args: ['/dev/my disk', 0] }])).toThrow(DeviceError);
    expect(() => formatTable([{ start: 0, length: 0, target: 'linear', args: ['/dev/loop0', 0] }])).toThrow(/positive/);
  });

  it('knows which flakey features a kernel release has', () => {
    expect(flakeyFeatureSupported('drop_writes', '6.1.0-56-amd64')).toBe(true);
    expect(flakeyFeatureSupported('error_reads', '6.1.0-56-amd64')).toBe(false);
    expect(flakeyFeatureSupported('error_reads', '6.4.0')).toBe(true);
    expect(flakeyFeatureSupported('random_write_corrupt', '6.4.12')).toBe(false);
    expect(flakeyFeatureSupported('random_write_corrupt', '6.18.0')).toBe(true);
    expect(flakeyFeatureSupported('random_read_corrupt', '7.0')).toBe(true);
  });

  it('formats a log-writes table over a data and a log device', () => {
    expect(formatTable(logWritesTable('/dev/loop1', '/dev/loop2', 4096))).toBe('0 4096 log-writes /dev/loop1 /dev/loop2');
  });

  it('parses log-writes status, including logging_disabled', () => {
    const [ok] = parseTableText('0 4096 log-writes 17 345\n');
    expect(parseLogWritesStatus(ok!)).toEqual({ entries: 17, highestSector: 345, loggingDisabled: false });
    const [bad] = parseTableText('0 4096 log-writes 3 40 logging_disabled');
    expect(parseLogWritesStatus(bad!).loggingDisabled).toBe(true);
    expect(() => parseTableText('garbage line')).toThrow(/expected/);
  });

  it('limits mark labels to one log block minus the header and NUL, without whitespace', () => {
    expect(markMessage('ack-42')).toEqual(['mark', 'ack-42']);
    expect(() => markMessage('a'.repeat(480))).toThrow(/1-479/);
    expect(markMessage('a'.repeat(479))).toHaveLength(2);
    expect(() => markMessage('two words')).toThrow(DeviceError);
  });

  it('accepts plain dm names only', () => {
    expect(() => checkDmName('powercut-12-flakey')).not.toThrow();
    expect(() => checkDmName('../evil')).toThrow(DeviceError);
    expect(() => checkDmName('')).toThrow(DeviceError);
  });
});
