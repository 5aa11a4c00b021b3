import path from 'node:path';
import { builtinCommands, type BuiltinProgram, type Target, type TargetSetting } from './target.js';
import type { Contract } from './contract.js';
import { digestOf, operations } from './values.js';

// SQLite through better-sqlite3: one autocommit INSERT OR REPLACE per operation, acknowledged when
// run() returns. Settings: journal_mode x synchronous. Contracts from the SQLite documentation:
// https://www.sqlite.org/pragma.html#pragma_synchronous and https://www.sqlite.org/wal.html
//   OFF: "the database might become corrupted if the operating system crashes or the computer
//     loses power before that data has been written to the disk surface": nothing promised.
//   NORMAL in WAL mode: "a transaction committed in WAL mode with synchronous=NORMAL might roll
//     back following a power loss or system crash", but the database stays consistent.
//   NORMAL in rollback-journal modes: syncs "at the most critical moments, but less often than in
//     FULL mode"; commits are not promised durable ("very small (though non-zero) chance" of
//     corruption on older filesystems; ext4 is not one).
//   FULL in WAL mode: "the WAL file is synchronized before each commit ... transactions are
//     durable across a power loss".
//   FULL in DELETE mode: EXTRA exists because FULL does not sync the directory after the journal
//     is unlinked ("EXTRA provides additional durability if the commit is followed closely by a
//     power loss"): the last commit may roll back.
//   FULL in TRUNCATE mode: the journal is truncated and, with FULL, synced: durable.
//   EXTRA: FULL plus the directory sync: durable in every mode.

const JOURNAL_MODES = ['wal', 'delete', 'truncate'] as const;
const SYNC_LEVELS = ['off', 'normal', 'full', 'extra'] as const;
const PRAGMA = 'https://www.sqlite.org/pragma.html#pragma_synchronous';

function contractOf(journal: (typeof JOURNAL_MODES)[number], sync: (typeof SYNC_LEVELS)[number]): Contract {
  switch (sync) {
    case 'off':
      return { promise: { kind: 'none' }, mayCorrupt: true, says: 'OFF: may corrupt on power loss before data reaches the disk', cite: PRAGMA };
    case 'normal':
      return journal === 'wal'
        ? {
            promise: { kind: 'none' },
            mayCorrupt: false,
            says: 'WAL+NORMAL: a commit might roll back after power loss; always consistent',
            cite: 'https://www.sqlite.org/wal.html#performance_considerations',
          }
        : { promise: { kind: 'none' }, mayCorrupt: false, says: 'NORMAL: syncs at the most critical moments only; commits not promised durable', cite: PRAGMA };
    case 'full':
      return journal === 'delete'
        ? {
            promise: { kind: 'last', n: 1 },
            mayCorrupt: false,
            says: 'DELETE+FULL: the journal unlink is not synced (that is EXTRA): the last commit may roll back',
            cite: PRAGMA,
          }
        : { promise: { kind: 'durable' }, mayCorrupt: false, says: `${journal.toUpperCase()}+FULL: synced before each commit returns: durable`, cite: PRAGMA };
    case 'extra':
      return {
        promise: { kind: 'durable' },
        mayCorrupt: false,
        says: 'EXTRA: FULL plus the directory sync after the journal is unlinked: durable',
        cite: PRAGMA,
      };
  }
}

const SETTINGS: TargetSetting[] = JOURNAL_MODES.flatMap((j) => SYNC_LEVELS.map((s) => ({ name: `${j}-${s}`, contract: contractOf(j, s) })));

export const sqliteTarget: Target = {
  name: 'sqlite',
  describe: 'SQLite (better-sqlite3): journal_mode wal|delete|truncate x synchronous off|normal|full|extra; PRAGMA integrity_check',
  settings: SETTINGS,
  // All 12 settings run by default, so the trials per setting are few: 5 each took 21 min in the
  // microVM at load 3-6 (10-22 s a power cut, 2026-12-02 20:41); with 2 the target stays at a few minutes.
  defaultTrials: 2,
  commands: (setting, ctx) => builtinCommands('sqlite', setting, ctx),
};

function parse(setting: string): { journal: string; sync: string } {
  const [journal = '', sync = ''] = setting.split('-');
  return { journal, sync };
}

async function open(dir: string, setting: string) {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(path.join(dir, 'db.sqlite'));
  const { journal, sync } = parse(setting);
  // journal_mode=wal persists in the file; delete and truncate are per connection.
  db.pragma(`journal_mode = ${journal}`);
  db.pragma(`synchronous = ${sync}`);
  return db;
}

export const sqliteProgram: BuiltinProgram = {
  async prepare(dir, setting) {
    const db = await open(dir, setting);
    db.exec('CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB NOT NULL)');
    db.close();
  },
  async workload(dir, setting, seed, report) {
    const db = await open(dir, setting);
    const put = db.prepare('INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)');
    let n = 0;
    for (const op of operations(seed)) {
      report.intent(op.key, op.digest);
      put.run(op.key, op.value);
      report.ack(op.key, op.digest);
      // run() is synchronous: yield now and then so the process still answers its pipes.
      if (++n % 32 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  },
  async check(dir, setting) {
    const survivors = new Map<string, string>();
    let db;
    try {
      db = await open(dir, setting);
      const rows = db.pragma('integrity_check') as { integrity_check: string }[];
      const problems = rows.map((r) => r.integrity_check).filter((r) => r !== 'ok');
      for (const row of db.prepare('SELECT k, v FROM kv').iterate() as IterableIterator<{ k: string; v: Buffer }>) survivors.set(row.k, digestOf(row.v));
      db.close();
      return { survivors, damage: problems.length > 0 ? `PRAGMA integrity_check: ${problems.slice(0, 3).join('; ')}` : null };
    } catch (error) {
      db?.close();
      return { survivors, damage: `sqlite: ${(error as Error).message}` };
    }
  },
};
