import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dmLoad, dmResume, dmSuspend, DeviceLab, flakeyFaultTable, type FsType } from '../../src/dm/index.js';
import { dmUnavailable } from './dm-precondition.js';
import { writeDurably } from './write-durably.js';

const why = await dmUnavailable(['flakey']);

// A long journal commit interval, so that under slow TCG the filesystem does not commit B's
// metadata on its own between the write and the power cut: the outcome must depend only on
// what the test does.
const MOUNT_OPTS: Record<FsType, string[]> = { ext4: ['commit=300'], xfs: [], btrfs: ['commit=300'] };

describe.skipIf(why !== undefined)(`dm-flakey power cut${why ? ` (skipped: ${why})` : ''}`, () => {
  let lab: DeviceLab | undefined;
  afterEach(async () => {
    await lab?.dispose();
    lab = undefined;
  });

  async function setup(fs: FsType) {
    lab = new DeviceLab();
    const loop = await lab.loop(await lab.image('data.img', 320 << 20));
    const flakey = await lab.flakey(loop);
    await lab.mkfs(flakey.path, { fs });
    const mnt = await lab.mount(flakey.path, { fs, options: MOUNT_OPTS[fs] });
    return { lab, flakey, mnt };
  }

  for (const fs of ['ext4', 'xfs'] as const) {
    it(`${fs}: an fsync'd file survives, an unsynced one is gone (suspend --nolockfs + drop_writes)`, async () => {
      const { lab, flakey, mnt } = await setup(fs);
      const a = 'A'.repeat(8192);
      writeDurably(mnt, 'A', a);
      writeFileSync(join(mnt, 'B'), 'B'.repeat(8192));
      await flakey.powerCut();
      await lab.umount(mnt);
      await flakey.restore();
      const again = await lab.mount(flakey.path, { fs, at: mnt });
      expect(readFileSync(join(again, 'A'), 'utf8')).toBe(a);
      expect(existsSync(join(again, 'B'))).toBe(false);
    });
  }

  // Guards the --nolockfs in swapFlakeyTable. A plain suspend freezes the filesystem, and a
  // freeze writes everything out first: the "power cut" then loses nothing. If this test starts
  // failing, someone changed the suspend; the power-cut test above would quietly stop testing.
  it('ext4: WITHOUT --nolockfs the suspend syncs, and the unsynced file survives', async () => {
    const { lab, flakey, mnt } = await setup('ext4');
    writeFileSync(join(mnt, 'B'), 'B'.repeat(8192));
    await dmSuspend(flakey.name); // no noLockfs: freezes (and syncs) the filesystem
    await dmLoad(flakey.name, flakeyFaultTable(flakey.underlying, flakey.sectors));
    await dmResume(flakey.name);
    await lab.umount(mnt);
    await flakey.restore();
    const again = await lab.mount(flakey.path, { fs: 'ext4', at: mnt });
    expect(readFileSync(join(again, 'B'), 'utf8')).toBe('B'.repeat(8192));
  });
});
