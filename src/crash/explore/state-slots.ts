import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { FS_VARIANTS, mount, umount, type CleanupStack, type FsVariantName } from '../../dm/index.js';
import { loopMount, loopUnmount } from '../../dm/loop-mount.js';
import { StateMaterialiser, type CrashState, type LogIndex } from '../../dm/log-writes/index.js';

// Where crash states of one recording are checked, whatever judges them (the WAL's recovery and
// oracle, check-states.ts, or a target's check command, src/crash/target/check-states.ts):
// `jobs` slots, each an image file and a mount point kept for the checker's life (every mount
// attaches a fresh loop device, see dm/loop-mount.ts). Materialising runs on this thread in
// enumeration order (the base image only moves forward); the judging of different slots (mount,
// journal replay, the judge's own work, unmount) overlaps on the libuv pool. Results are handed on
// in the order of the states, so any number of jobs gives the same report.

/**
 * How a state is mounted: 'syscall' (dm/loop-mount.ts, the default) or 'tools'
 * (`mount -o loop` and `umount`, two processes per mount: what checking did
 * before; kept for the benchmark's side-by-side figure, scripts/bench-states.ts). Both attach a
 * fresh autoclear loop device.
 */
export type MountMethod = 'syscall' | 'tools';

/** Where one state in flight lives: its image file and its mount point. */
export interface Slot {
  image: string;
  mountPoint: string;
  mounted: boolean;
}

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export class StateSlots {
  private readonly materialiser: StateMaterialiser;
  private readonly slots: Slot[];

  constructor(
    index: LogIndex,
    deviceBytes: number,
    workDir: string,
    private readonly fs: FsVariantName,
    private readonly stack: CleanupStack,
    jobs: number,
    private readonly mountMethod: MountMethod = 'syscall',
    /** Where the time spent materialising is added up. */
    private readonly timings: { materialiseMs: number } = { materialiseMs: 0 },
  ) {
    if (!Number.isSafeInteger(jobs) || jobs < 1) throw new RangeError(`jobs must be a whole number from 1, not ${jobs}`);
    this.materialiser = new StateMaterialiser(index, deviceBytes, workDir);
    this.slots = Array.from({ length: jobs }, (_, n) => {
      const mountPoint = path.join(workDir, `mnt-${n}`);
      mkdirSync(mountPoint);
      return { image: path.join(workDir, `state-${n}.img`), mountPoint, mounted: false };
    });
  }

  /** Materialise `state` into the first slot and judge it there. */
  one<R>(state: CrashState, judge: (slot: Slot, state: CrashState) => Promise<R>): Promise<R> {
    const slot = this.slots[0] as Slot;
    this.materialise(state, slot);
    return this.judgeIn(slot, state, judge);
  }

  /**
   * Judge `states` with every slot busy, handing each result to `onResult` in the order of
   * `states` (whatever order they finish in). Stops dispatching when `stop()` says so and waits
   * for the states in flight; returns how many were handed on.
   */
  async each<R>(
    states: readonly CrashState[],
    judge: (slot: Slot, state: CrashState) => Promise<R>,
    onResult: (result: R, position: number) => void,
    stop?: () => boolean,
  ): Promise<number> {
    const free = [...this.slots];
    const finished = new Map<number, R>();
    const inFlight = new Set<Promise<void>>();
    let next = 0;
    let failure: { error: unknown } | null = null;
    for (const [position, state] of states.entries()) {
      while (free.length === 0 && failure === null) await Promise.race(inFlight);
      if (failure !== null || stop?.() === true) break;
      const slot = free.pop() as Slot;
      this.materialise(state, slot);
      const work: Promise<void> = this.judgeIn(slot, state, judge)
        .then((result) => {
          finished.set(position, result);
          for (let r = finished.get(next); r !== undefined; r = finished.get(next)) {
            finished.delete(next);
            onResult(r, next++);
          }
        })
        .catch((error: unknown) => {
          failure ??= { error };
        })
        .finally(() => {
          free.push(slot);
          inFlight.delete(work);
        });
      inFlight.add(work);
    }
    await Promise.all(inFlight);
    if (failure !== null) throw (failure as { error: unknown }).error;
    return next;
  }

  private materialise(state: CrashState, slot: Slot): void {
    const t0 = process.hrtime.bigint();
    this.materialiser.materialise(state, slot.image, { reuse: true });
    this.timings.materialiseMs += ms(t0);
  }

  // Tracked by the cleanup stack: a signal's unwind waits for the states in flight (bounded), so it
  // never unmounts, or finds nothing to unmount, while a mount, its journal replay or a judge's
  // work is still running. Untracked, a mount that completed after the unwind was left behind (seen
  // under load: SIGTERM to `pnpm fuzz --check` left a slot mounted and its directory).
  private judgeIn<R>(slot: Slot, state: CrashState, judge: (slot: Slot, state: CrashState) => Promise<R>): Promise<R> {
    return this.stack.track(judge(slot, state));
  }

  /**
   * Mount the slot's image (register the mount point on the stack first). `refusalIsResult`: a
   * state's first mount, where the filesystem's refusal is the state's result ('unmountable'), not
   * a fault, so the 'tools' path does not log it as a failed command.
   */
  async mount(slot: Slot, refusalIsResult = false): Promise<void> {
    const variant = FS_VARIANTS[this.fs];
    if (this.mountMethod === 'tools') await mount(slot.image, slot.mountPoint, { fs: variant.fs, options: ['loop', ...variant.mountOptions] }, refusalIsResult);
    else await loopMount(slot.image, slot.mountPoint, { fs: variant.fs, options: variant.mountOptions });
    slot.mounted = true;
  }

  async unmount(slot: Slot): Promise<void> {
    await (this.mountMethod === 'tools' ? umount(slot.mountPoint) : loopUnmount(slot.mountPoint));
    slot.mounted = false;
  }

  close(): void {
    this.materialiser.close();
  }
}
