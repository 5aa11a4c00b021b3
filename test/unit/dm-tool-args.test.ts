import { describe, expect, it } from 'vitest';
import { dmSuspendArgs, losetupAttachArgs, mkfsCommand, mountArgs, parseDmInfo, parseLoopList, parseMountInfo, parseTargets } from '../../src/dm/index.js';

describe('block tool argument vectors', () => {
  it('suspends with --nolockfs only when asked', () => {
    expect(dmSuspendArgs('powercut-1-f')).toEqual(['suspend', 'powercut-1-f']);
    expect(dmSuspendArgs('powercut-1-f', { noLockfs: true })).toEqual(['suspend', '--nolockfs', 'powercut-1-f']);
    expect(dmSuspendArgs('powercut-1-f', { noLockfs: true, noFlush: true })).toEqual(['suspend', '--nolockfs', '--noflush', 'powercut-1-f']);
  });

  it('builds losetup attach arguments', () => {
    expect(losetupAttachArgs('/tmp/a.img')).toEqual(['--find', '--show', '/tmp/a.img']);
    expect(losetupAttachArgs('/tmp/a.img', { directIo: true, sectorSize: 4096, readOnly: true })).toEqual([
      '--find',
      '--show',
      '--read-only',
      '--direct-io=on',
      '--sector-size',
      '4096',
      '/tmp/a.img',
    ]);
  });

  it('forces and quiets each mkfs, with label and extra options before the device', () => {
    expect(mkfsCommand('/dev/loop0', { fs: 'ext4' })).toEqual({ command: 'mkfs.ext4', args: ['-F', '-q', '/dev/loop0'] });
    expect(mkfsCommand('/dev/loop0', { fs: 'xfs', label: 'wal', extraArgs: ['-m', 'reflink=0'] })).toEqual({
      command: 'mkfs.xfs',
      args: ['-f', '-q', '-L', 'wal', '-m', 'reflink=0', '/dev/loop0'],
    });
    expect(mkfsCommand('/dev/loop0', { fs: 'btrfs' }).command).toBe('mkfs.btrfs');
    expect(() => mkfsCommand('/dev/loop0', { fs: 'xfs', label: 'much-too-long-label' })).toThrow(/1-12/);
  });

  it('builds mount arguments with ro first and rejects whitespace in options', () => {
    expect(mountArgs('/dev/loop0', '/mnt')).toEqual(['/dev/loop0', '/mnt']);
    expect(mountArgs('/dev/loop0', '/mnt', { fs: 'ext4', readOnly: true, options: ['noatime'] })).toEqual([
      '-t',
      'ext4',
      '-o',
      'ro,noatime',
      '/dev/loop0',
      '/mnt',
    ]);
    expect(() => mountArgs('/dev/loop0', '/mnt', { options: ['a b'] })).toThrow(/whitespace/);
  });
});

describe('block tool output parsers', () => {
  it('reads dmsetup targets with versions', () => {
    expect(parseTargets('log-writes       v1.1.0\nflakey           v1.5.0\nstriped          v1.6.0\n')).toEqual([
      { name: 'log-writes', version: [1, 1, 0] },
      { name: 'flakey', version: [1, 5, 0] },
      { name: 'striped', version: [1, 6, 0] },
    ]);
  });

  it('reads dmsetup info columns and the empty case', () => {
    expect(parseDmInfo('powercut-1-f:Suspended:1\nother:Active:0\n')).toEqual([
      { name: 'powercut-1-f', suspended: true, openCount: 1 },
      { name: 'other', suspended: false, openCount: 0 },
    ]);
    expect(parseDmInfo('No devices found\n')).toEqual([]);
  });

  it('reads losetup --json and strips "(deleted)"', () => {
    const json = '{"loopdevices": [{"name": "/dev/loop0", "back-file": "/tmp/powercut-lab-x/a.img (deleted)"}]}';
    expect(parseLoopList(json)).toEqual([{ device: '/dev/loop0', backingFile: '/tmp/powercut-lab-x/a.img' }]);
    expect(parseLoopList('')).toEqual([]);
    expect(() => parseLoopList('{')).toThrow(/not JSON/);
  });

  it('reads mountinfo with optional fields and octal escapes', () => {
    const text = [
      '36 35 98:0 /mnt1 /mnt/with\\040space rw,noatime master:1 - ext3 /dev/root rw,errors=continue',
      '40 1 7:3 / /tmp/powercut-lab-a/mnt-1 rw,relatime - xfs /dev/loop3 rw',
      'garbage',
    ].join('\n');
    expect(parseMountInfo(text)).toEqual([
      { devId: '98:0', mountPoint: '/mnt/with space', options: 'rw,noatime', fsType: 'ext3', source: '/dev/root' },
      { devId: '7:3', mountPoint: '/tmp/powercut-lab-a/mnt-1', options: 'rw,relatime', fsType: 'xfs', source: '/dev/loop3' },
    ]);
  });
});
