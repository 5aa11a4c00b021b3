import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { PeerCell } from '../cell.js';
import { newHistogram } from '../latency.js';
import { deviceWindow, type Slice } from '../slice.js';
import type { SliceContext } from '../slice-context.js';
import type { PeerDriver, Readiness } from './peer-driver.js';

type SqliteModule = typeof import('better-sqlite3');

// SQLite through better-sqlite3: WAL journal, synchronous=FULL (the WAL file is synced at every
// commit), one INSERT per transaction. One writer: the API is synchronous, so N loops on one
// event loop would just take turns, and SQLite admits one writer at a time anyway.
export class SqliteDriver implements PeerDriver {
  readonly peer = 'sqlite' as const;
  readonly describe = 'better-sqlite3: journal_mode=WAL, synchronous=FULL, one INSERT per commit (1 writer: synchronous API)';
  private sqlite: SqliteModule | undefined;

  async prepare(): Promise<Readiness> {
    try {
      this.sqlite = (await import('better-sqlite3')).default as unknown as SqliteModule;
      return { status: 'ready' };
    } catch (err) {
      return { status: 'skipped', reason: `better-sqlite3 does not load: ${(err as Error).message}` };
    }
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
      const hist = newHistogram();
      let ops = 0;
      const io = deviceWindow(ctx.devices);
      const cpu0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      const end = t0 + BigInt(ctx.durationMs) * 1_000_000n;
      for (let now = t0; now < end; ) {
        insert.run(payload);
        const after = process.hrtime.bigint();
        hist.recordValue(Number(after - now));
        ops++;
        now = after;
      }
      const elapsedNs = Number(process.hrtime.bigint() - t0);
      const cpu = process.cpuUsage(cpu0);
      return { ops, bytes: ops * cell.size, elapsedNs, latency: hist, devices: io.finish(), cpuUs: cpu.user + cpu.system };
    } finally {
      db.close();
    }
  }

  async close(): Promise<void> {}
}
