import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceStack } from '../../src/crash/flakey/device-stack.js';
import { DeviceLab, dmTable, findLeftovers } from '../../src/dm/index.js';
import { dmUnavailable } from './dm-precondition.js';
import { writeDurably } from './write-durably.js';

// The two-device stack of a target setting with two devices (postgres with pg_wal elsewhere): two
// linear devices over one flakey device, a filesystem on each. The claim under test: they are two
// block devices, and one power cut takes both at the same instant (what either had made durable
// before it survives, what either writes after it, fsync'd or not, is gone), and the harness
// removes every device it made.

const why = await dmUnavailable(['flakey', 'linear']);

/** "major:minor" of a device number, as dmsetup prints the devices a table names (Linux's encoding). */
const majorMinor = (rdev: number) => `${(rdev >> 8) & 0xfff}:${(rdev & 0xff) | ((rdev >> 12) & 0xfff00)}`;

describe.skipIf(why !== undefined)(`two devices cut at one instant${why ? ` (skipped: ${why})` : ''}`, () => {
  let lab: DeviceLab | undefined;
  afterEach(async () => {
    await lab?.dispose();
    lab = undefined;
  });

  it('ext4 on two linear devices over one flakey device: both keep what was durable before the cut, both lose what came after', async () => {
    lab = new DeviceLab();
    const stack = await DeviceStack.create(lab, 'ext4', 2);
    expect(stack.devices).toBe(2);
    const [a, b] = [stack.mountPointOf(0), stack.mountPointOf(1)];
    // Two filesystems on two block devices, each a linear slice of the one flakey device.
    expect(statSync(a).dev).not.toBe(statSync(b).dev);
    const flakeyDev = statSync(stack.flakey.path).rdev;
    const slices = await Promise.all(stack.blockDevices.map((d) => dmTable(basename(d))));
    for (const t of slices) {
      expect(t).toHaveLength(1);
      expect(t[0]?.target).toBe('linear');
      expect(String(t[0]?.args[0])).toBe(majorMinor(flakeyDev));
    }
    expect(slices.map((t) => Number(t[0]?.args[1]))).toEqual([0, slices[0]?.[0]?.length]);

    for (const dir of [a, b]) writeDurably(dir, 'before', `before on ${dir}`);
    await stack.preloadCut();
    await stack.cutPower();
    // fsync returns success on both (dm-flakey's drop_writes acknowledges the writes), yet nothing lands.
    for (const dir of [a, b]) writeDurably(dir, 'after', `after on ${dir}`);
    await stack.unmount();
    await stack.heal();
    await stack.mount();
    for (const dir of [a, b]) {
      expect(readFileSync(join(dir, 'before'), 'utf8')).toBe(`before on ${dir}`);
      expect(existsSync(join(dir, 'after')), `${dir}/after survived the cut`).toBe(false);
    }
    await lab.dispose();
    lab = undefined;
    expect(await findLeftovers(process.pid)).toEqual({ dmDevices: [], loopDevices: [], mounts: [] });
  }, 120_000);
});
