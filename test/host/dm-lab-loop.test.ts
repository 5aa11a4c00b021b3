import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceError, DeviceLab, findLeftovers, isMountPoint, listLoops, withDeviceLab } from '../../src/dm/index.js';

// Real loop devices, filesystems and mounts on the host (no device-mapper needed).
const isRoot = process.getuid?.() === 0;
const hasLoop = existsSync('/dev/loop-control');
const hasTool = (t: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${t}`]);
    return true;
  } catch {
    return false;
  }
};
const why = !isRoot ? 'requires root' : !hasLoop ? 'no /dev/loop-control' : undefined;

describe.skipIf(why !== undefined)(`DeviceLab on loop devices${why ? ` (skipped: ${why})` : ''}`, () => {
  let lab: DeviceLab | undefined;
  afterEach(async () => {
    await lab?.dispose();
    lab = undefined;
  });

  for (const fs of ['ext4', 'xfs', 'btrfs'] as const) {
    it.skipIf(!hasTool(`mkfs.${fs}`))(`makes, mounts and tears down ${fs} (skips when mkfs.${fs} is missing)`, async () => {
      lab = new DeviceLab();
      const img = await lab.image('fs.img', 320 << 20);
      const dev = await lab.loop(img);
      await lab.mkfs(dev, { fs });
      const mnt = await lab.mount(dev, { fs });
      writeFileSync(join(mnt, 'hello'), 'world');
      expect(readFileSync(join(mnt, 'hello'), 'utf8')).toBe('world');
      expect(isMountPoint(mnt)).toBe(true);
      const labDir = lab.dir;
      await lab.dispose();
      lab = undefined;
      expect(isMountPoint(mnt)).toBe(false);
      // Our device over our image: on a busy machine another process may take the freed loop number at once.
      expect((await listLoops()).some((l) => l.device === dev && l.backingFile === img)).toBe(false);
      expect(existsSync(labDir)).toBe(false);
    });
  }

  it('refuses to format a loop device over a file it did not create', async () => {
    await withDeviceLab(async (mine) => {
      const img = await mine.image('theirs.img', 1 << 20);
      const dev = await mine.loop(img);
      lab = new DeviceLab();
      await expect(lab.mkfs(dev, { fs: 'ext4' })).rejects.toMatchObject({ code: 'NOT_OWNED' });
    });
  });

  it('refuses a mounted device even with consent, and a real device without it', async () => {
    lab = new DeviceLab();
    const img = await lab.image('m.img', 64 << 20);
    const dev = await lab.loop(img);
    await lab.mkfs(dev, { fs: 'ext4' });
    await lab.mount(dev, { fs: 'ext4' });
    await expect(lab.mkfs(dev, { fs: 'ext4' })).rejects.toMatchObject({ code: 'DEVICE_IN_USE' });
    const withConsent = new DeviceLab({ consent: { allowRealDevice: true, confirmed: true } });
    try {
      expect(() => withConsent.adoptDevice(dev)).toThrow(/mounted/);
      // The root filesystem's disk: refused without consent whatever it is.
      const rootDev = readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .map((l) => l.split(' - ')[1]?.split(' ')[1])
        .find((s) => s?.startsWith('/dev/'));
      if (rootDev) {
        const noConsent = new DeviceLab();
        try {
          expect(() => noConsent.adoptDevice(rootDev)).toThrow(DeviceError);
        } finally {
          await noConsent.dispose();
        }
      }
    } finally {
      await withConsent.dispose();
    }
  });

  it('releases everything when the work throws', async () => {
    let dir = '';
    await expect(
      withDeviceLab(async (l) => {
        dir = l.dir;
        const dev = await l.loop(await l.image('e.img', 64 << 20));
        await l.mkfs(dev, { fs: 'ext4' });
        await l.mount(dev, { fs: 'ext4' });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(existsSync(dir)).toBe(false);
    const left = await findLeftovers();
    expect(left.loopDevices.filter((l) => l.includes(dir))).toEqual([]);
    expect(left.mounts.filter((m) => m.includes(dir))).toEqual([]);
  });
});
