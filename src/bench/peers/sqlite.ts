import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { PeerCell } from '../cell.js';
import type { Slice } from '../slice.js';
import type { SliceContext } from '../slice-context.js';
import type { PeerDriver, Readiness } from './peer-driver.js';
import { loadPeerModule, timeCommits, timeOffered } from './time-commits.js';

type SqliteModule = typeof import('better-sqlite3');

// SQLite through better-sqlite3: WAL journal, synchronous=FULL (the WAL file is synced at every
// commit), one INSERT per transaction. One writer: the API is synchronous, so N loops on one
// event loop would just take turns, and SQLite admits one writer at a time anyway.
export class SqliteDriver implements PeerDriver {
  readonly peer = 'sqlite' as const;
  readonly describe = 'better-sqlite3: journal_mode=WAL, synchronous=FULL, one INSERT per commit (1 writer: synchronous API)';
  private sqlite: SqliteModule | undefined;

  async prepare(): Promise<Readiness> {
    const loaded = await loadPeerModule('better-sqlite3', async () => (await import('better-sqlite3')).default);
    if ('reason' in loaded) return { status: 'skipped', reason: loaded.reason };
    this.sqlite = loaded.module;
    return { status: 'ready' };
  }

  async slice(cell: PeerCell, ctx: SliceContext): Promise<Slice> {
    const Database = this.sqlite!;
    const db = new Database(join(ctx.dir, 'peer.sqlite'));
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.exec('CREATE TABLE log (seq INTEGER PRIMARY KEY, payload BLOB NOT NULL)');
      const insert = db.prepare('INSERT INTO log (payload) VALUES (?)');
      const payload = randomBytes(cell.size);
      for (let i = 0; i < 16; i++) insert.run(payload);
      const commit = (): void => {
        insert.run(payload);
      };
      return cell.offered !== undefined ? await timeOffered(ctx, cell.size, 1, cell.offered, commit) : await timeCommits(ctx, cell.size, 1, commit);
    } finally {
      db.close();
    }
  }

  async close(): Promise<void> {}
}
