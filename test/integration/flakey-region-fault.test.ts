import { closeSync, fdatasyncSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceLab, fileExtents, mergeRanges } from '../../src/dm/index.js';
import { dmUnavailable } from './dm-precondition.js';

const why = await dmUnavailable(['flakey']);

// The transient-eio scenario's fault, shown on its own: writes to one file's blocks fail while
// flushes and the rest of the device work. The first fdatasync reports EIO; the kernel has marked
// the pages clean, so a second fdatasync "succeeds" without writing them (fsyncgate), and after
// a remount (page cache gone) the file holds its old bytes. A WAL that retries is caught exactly
// by this; if the second fdatasync ever failed too, the scenario could no longer show it.

describe.skipIf(why !== undefined)(`dm region fault${why ? ` (skipped: ${why})` : ''}`, () => {
  let lab: DeviceLab | undefined;
  afterEach(async () => {
    await lab?.dispose();
    lab = undefined;
  });

  it('ext4: EIO once, the retried fdatasync succeeds, the data is gone after a remount; other files still sync', async () => {
    lab = new DeviceLab();
    const loop = await lab.loop(await lab.image('data.img', 128 << 20));
    const flakey = await lab.flakey(loop);
    await lab.mkfs(flakey.path, { fs: 'ext4' });
    const mnt = await lab.mount(flakey.path, { fs: 'ext4' });
    const file = join(mnt, 'seg');
    const fd = openSync(file, 'w+');
    writeSync(fd, Buffer.alloc(64 * 1024, 0x11), 0, 64 * 1024, 0);
    fsyncSync(fd);
    const dfd = openSync(mnt, 'r');
    fsyncSync(dfd);
    closeSync(dfd);
    await flakey.loadRegionFault(mergeRanges(await fileExtents(file)));
    writeSync(fd, Buffer.alloc(4096, 0x22), 0, 4096, 8192);
    expect(() => fdatasyncSync(fd)).toThrow(/EIO/);
    expect(() => fdatasyncSync(fd)).not.toThrow();
    const other = openSync(join(mnt, 'other'), 'w');
    writeSync(other, 'still works');
    expect(() => fsyncSync(other)).not.toThrow();
    closeSync(other);
    closeSync(fd);
    await flakey.restore();
    await lab.umount(mnt);
    const again = await lab.mount(flakey.path, { fs: 'ext4', at: mnt });
    expect(
      readFileSync(join(again, 'seg'))
        .subarray(8192, 8192 + 4096)
        .every((b) => b === 0x11),
    ).toBe(true);
    expect(readFileSync(join(again, 'other'), 'utf8')).toBe('still works');
  });
});
