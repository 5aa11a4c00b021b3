import { createRequire } from 'node:module';
import path from 'node:path';
import { checkMarkLabel, dmMessage, markMessage } from '../../dm/index.js';
import { nativeBuildDir } from '../../project-root.js';
import { CrashError } from '../crash-error.js';

// Puts marks into a dm-log-writes log while the writer runs. Two ways, measured against each other
// (record-main.ts reports both): the DM_TARGET_MSG ioctl from native code (native/dm, a few
// microseconds, no process), and `dmsetup message` (a process per mark: ~120 ms under TCG).
// A mark must enter the log AFTER the event it stands for was reported: the ioctl is synchronous
// and the writer waits for it; dmsetup marks are chained so they stay in order, and may lag, which
// only makes the history cut at a crash state more conservative (historyAtCrash).

export type MarkMethod = 'ioctl' | 'dmsetup';
export const MARK_METHODS: readonly MarkMethod[] = ['ioctl', 'dmsetup'];

export interface MarkStats {
  method: MarkMethod;
  marks: number;
  /** Wall time spent issuing marks, in ms (ioctl: the call; dmsetup: each process, start to exit). */
  totalMs: number;
  maxMs: number;
}

export interface Marker {
  /** Issue a mark (validated: no whitespace, fits a 512-byte log block). */
  mark(label: string): void;
  /** Wait for every mark issued so far, release the control device, and return the figures. */
  close(): Promise<MarkStats>;
}

interface DmHandle {
  message(name: string, text: string): void;
  close(): void;
}

function loadDmAddon(): { DmHandle: new (control: string) => DmHandle } {
  const buildDir = nativeBuildDir('POWERCUT_DM_NATIVE_BUILD');
  const file = path.join(buildDir, 'Release', 'powercut_dm.node');
  try {
    return createRequire(import.meta.url)(file) as { DmHandle: new (control: string) => DmHandle };
  } catch (cause) {
    throw new CrashError('NOT_BUILT', `cannot load the device-mapper message addon ${file}: run 'pnpm build:native'`, { cause });
  }
}

function since(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** A marker for the log-writes device `dmName` (a dm name, not a path). */
export function openMarker(dmName: string, method: MarkMethod, control = '/dev/mapper/control'): Marker {
  const stats: MarkStats = { method, marks: 0, totalMs: 0, maxMs: 0 };
  const count = (ms: number) => {
    stats.marks++;
    stats.totalMs += ms;
    stats.maxMs = Math.max(stats.maxMs, ms);
  };
  if (method === 'ioctl') {
    const { DmHandle } = loadDmAddon();
    let handle: DmHandle;
    try {
      handle = new DmHandle(control);
    } catch (cause) {
      throw new CrashError('NO_DEVICE_MAPPER', `cannot open ${control}: ${(cause as Error).message}`, { cause });
    }
    return {
      mark(label) {
        checkMarkLabel(label);
        const start = process.hrtime.bigint();
        try {
          handle.message(dmName, `mark ${label}`);
        } catch (cause) {
          throw new CrashError('MARK_FAILED', `mark ${label} on ${dmName}: ${(cause as Error).message}`, { cause });
        }
        count(since(start));
      },
      close() {
        handle.close();
        return Promise.resolve({ ...stats });
      },
    };
  }
  let chain: Promise<void> = Promise.resolve();
  let failure: unknown;
  return {
    mark(label) {
      const message = markMessage(label);
      chain = chain.then(async () => {
        if (failure !== undefined) return;
        const start = process.hrtime.bigint();
        try {
          await dmMessage(dmName, message);
        } catch (error) {
          failure = error;
          return;
        }
        count(since(start));
      });
    },
    async close() {
      await chain;
      if (failure !== undefined) throw new CrashError('MARK_FAILED', `dmsetup message ${dmName}: ${(failure as Error).message}`, { cause: failure });
      return { ...stats };
    },
  };
}
