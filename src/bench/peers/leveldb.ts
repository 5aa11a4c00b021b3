import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { PeerCell } from '../cell.js';
import { newHistogram } from '../latency.js';
import { deviceWindow, type Slice } from '../slice.js';
import type { SliceContext } from '../slice-context.js';
import type { PeerDriver, Readiness } from './peer-driver.js';

type LevelModule = typeof import('classic-level');

// LevelDB through classic-level: put with sync:true. One writer is the serial case; N writers
// are N concurrent put loops, where LevelDB's own writer queue batches them into one log sync.
export class LevelDbDriver implements PeerDriver {
  readonly peer = 'leveldb' as const;
  readonly describe = 'classic-level (LevelDB): put sync:true; N writers = N concurrent put loops (LevelDB batches them)';
  private level: LevelModule | undefined;

  async prepare(): Promise<Readiness> {
    try {
      this.level = await import('classic-level');
      return { status: 'ready' };
    } catch (err) {
      return { status: 'skipped', reason: `classic-level does not load: ${(err as Error).message}` };
    }
  }

  async slice(cell: PeerCell, ctx: SliceContext): Promise<Slice> {
    const { ClassicLevel } = this.level!;
    const db = new ClassicLevel<string, Uint8Array>(join(ctx.dir, 'peer.leveldb'), { valueEncoding: 'view' });
    await db.open();
    try {
      const payload = randomBytes(cell.size);
      for (let i = 0; i < 16; i++) await db.put(`warm-${i}`, payload, { sync: true });
      const hist = newHistogram();
      let ops = 0;
      const io = deviceWindow(ctx.devices);
      const cpu0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      const end = t0 + BigInt(ctx.durationMs) * 1_000_000n;
      const writer = async (w: number): Promise<void> => {
        for (let i = 0; process.hrtime.bigint() < end; i++) {
          const s = process.hrtime.bigint();
          await db.put(`${w}-${i}`, payload, { sync: true });
          hist.recordValue(Number(process.hrtime.bigint() - s));
          ops++;
        }
      };
      await Promise.all(Array.from({ length: cell.writers }, (_, w) => writer(w)));
      const elapsedNs = Number(process.hrtime.bigint() - t0);
      const cpu = process.cpuUsage(cpu0);
      return { ops, bytes: ops * cell.size, elapsedNs, latency: hist, devices: io.finish(), cpuUs: cpu.user + cpu.system };
    } finally {
      await db.close();
    }
  }

  async close(): Promise<void> {}
}
