import { dmList } from './dmsetup.js';
import { DM_NAME_PREFIX, LAB_DIR_PREFIX } from './device-lab.js';
import { listLoops } from './losetup.js';
import { readMountTable } from './mountinfo.js';

export interface Leftovers {
  dmDevices: string[];
  loopDevices: string[];
  mounts: string[];
}

// What the harness left on this machine: dm devices named powercut-*, loop devices over files in
// a powercut-lab-* directory, mounts inside one. Empty after every clean teardown; doctor and
// the cleanup tests look here. `pid` narrows it to one harness process's dm devices.
export async function findLeftovers(pid?: number): Promise<Leftovers> {
  const dmPrefix = pid === undefined ? DM_NAME_PREFIX : `${DM_NAME_PREFIX}${pid}-`;
  const inLab = (p: string) => p.split('/').some((part) => part.startsWith(LAB_DIR_PREFIX));
  return {
    dmDevices: (await dmList()).filter((n) => n.startsWith(dmPrefix)),
    loopDevices: (await listLoops()).filter((l) => inLab(l.backingFile)).map((l) => `${l.device} (${l.backingFile})`),
    mounts: readMountTable()
      .filter((m) => inLab(m.mountPoint))
      .map((m) => `${m.source} on ${m.mountPoint}`),
  };
}
