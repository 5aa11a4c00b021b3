import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { PeerCell } from '../cell.js';
import type { Slice } from '../slice.js';
import type { SliceContext } from '../slice-context.js';
import type { PeerDriver, Readiness } from './peer-driver.js';
import { loadPeerModule, timeCommits, timeOffered } from './time-commits.js';

type LevelModule = typeof import('classic-level');

// LevelDB through classic-level: put with sync:true. One writer is the serial case; N writers
// are N concurrent put loops, where LevelDB's own writer queue batches them into one log sync.
export class LevelDbDriver implements PeerDriver {
  readonly peer = 'leveldb' as const;
  readonly describe = 'classic-level (LevelDB): put sync:true; N writers = N concurrent put loops (LevelDB batches them)';
  private level: LevelModule | undefined;

  async prepare(): Promise<Readiness> {
    const loaded = await loadPeerModule('classic-level', () => import('classic-level'));
    if ('reason' in loaded) return { status: 'skipped', reason: loaded.reason };
    this.level = loaded.module;
    return { status: 'ready' };
  }

  async slice(cell: PeerCell, ctx: SliceContext): Promise<Slice> {
    const { ClassicLevel } = this.level!;
    const db = new ClassicLevel<string, Uint8Array>(join(ctx.dir, 'peer.leveldb'), { valueEncoding: 'view' });
    await db.open();
    try {
      const payload = randomBytes(cell.size);
      for (let i = 0; i < 16; i++) await db.put(`warm-${i}`, payload, { sync: true });
      const commit = (w: number, i: number): Promise<void> => db.put(`${w}-${i}`, payload, { sync: true });
      return cell.offered !== undefined
        ? await timeOffered(ctx, cell.size, cell.writers, cell.offered, commit)
        : await timeCommits(ctx, cell.size, cell.writers, commit);
    } finally {
      await db.close();
    }
  }

  async close(): Promise<void> {}
}
