import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceLab, logWritesStatus } from '../../src/dm/index.js';
import { closeLog, hasFlag, iterateEntries, LogFlag, openLog } from '../../src/dm/log-writes/index.js';
import { dmUnavailable } from './dm-precondition.js';

const why = await dmUnavailable(['log-writes']);

describe.skipIf(why !== undefined)(`dm-log-writes recording${why ? ` (skipped: ${why})` : ''}`, () => {
  let lab: DeviceLab | undefined;
  afterEach(async () => {
    await lab?.dispose();
    lab = undefined;
  });

  it('writes a log whose super block and marks parse, with the entry count dmsetup reports', async () => {
    lab = new DeviceLab();
    const data = await lab.loop(await lab.image('data.img', 128 << 20));
    const logImage = await lab.image('log.img', 128 << 20);
    const logDev = await lab.loop(logImage);
    const lw = await lab.logWrites(data, logDev);
    await lw.mark('mkfs-start');
    await lab.mkfs(lw.path, { fs: 'ext4' });
    const mnt = await lab.mount(lw.path, { fs: 'ext4' });
    const fd = openSync(join(mnt, 'wal'), 'w');
    writeSync(fd, Buffer.alloc(16384, 7));
    fsyncSync(fd);
    closeSync(fd);
    await lw.mark('ack-1');
    await lab.umount(mnt);
    await lw.mark('end');
    // A mark makes the kernel rewrite the super block, so after it nr_entries is current.
    const status = await logWritesStatus(lw.name);
    expect(status.loggingDisabled).toBe(false);

    // Read the log through the image file: the loop device writes it through to the file
    // and the mark's super block update has completed by the time `dmsetup message` returns.
    const log = openLog(logImage);
    try {
      expect(log.super.sectorSize).toBe(512);
      expect(log.super.nrEntries).toBe(status.entries);
      const entries = [...iterateEntries(log)];
      expect(entries).toHaveLength(status.entries);
      const marks = entries.filter((e) => hasFlag(e, LogFlag.MARK)).map((e) => e.mark);
      expect(marks).toEqual(['mkfs-start', 'ack-1', 'end']);
      const ack = entries.findIndex((e) => e.mark === 'ack-1');
      // fsync must have put a FLUSH (or FUA) into the log before the acknowledgement's mark.
      expect(entries.slice(0, ack).some((e) => hasFlag(e, LogFlag.FLUSH) || hasFlag(e, LogFlag.FUA))).toBe(true);
      // The last entry (the "end" mark's header block) ends where the kernel's log position says.
      const last = entries[entries.length - 1]!;
      expect(last.dataOffset + last.dataBytes).toBe((status.highestSector + 1) * 512);
    } finally {
      closeLog(log);
    }

    // Teardown appends the kernel's own end mark and rewrites the super block.
    await lw.teardown();
    const final = openLog(logImage);
    try {
      expect(final.super.nrEntries).toBe(status.entries + 1);
      const entries = [...iterateEntries(final)];
      expect(entries[entries.length - 1]!.mark).toBe('dm-log-writes-end');
    } finally {
      closeLog(final);
    }
  });
});
