import path from 'node:path';
import { builtinCommands, type BuiltinProgram, type Target, type TargetSetting } from './target.js';
import { digestOf, operations } from './values.js';

// LevelDB through classic-level: one put per operation, acknowledged when put() resolves.
// Contracts: the classic-level README, put() options
// (https://github.com/Level/classic-level#dbputkey-value-options): "sync (boolean, default: false):
// ... a synchronous write will use fsync() or equivalent, so the write will not complete until the
// data is actually on disk"; LevelDB's own documentation, "Synchronous Writes"
// (https://github.com/google/leveldb/blob/main/doc/index.md#synchronous-writes): with async writes
// "if the machine crashes, some recent writes may be lost". Neither allows the database to be
// left unopenable: integrity is that it opens and every surviving key reads back.

const README = 'https://github.com/Level/classic-level#dbputkey-value-options';
const SETTINGS: TargetSetting[] = [
  {
    name: 'sync-true',
    contract: { promise: { kind: 'durable' }, mayCorrupt: false, says: 'sync: true: put() completes once the data is on disk', cite: README },
  },
  {
    name: 'sync-false',
    contract: {
      promise: { kind: 'none' },
      mayCorrupt: false,
      says: 'sync: false: a machine crash may lose recent writes',
      cite: 'https://github.com/google/leveldb/blob/main/doc/index.md#synchronous-writes',
    },
  },
];

export const leveldbTarget: Target = {
  name: 'leveldb',
  describe: 'LevelDB (classic-level): put with sync true|false; the database opens and every surviving key reads back',
  settings: SETTINGS,
  commands: (setting, ctx) => builtinCommands('leveldb', setting, ctx),
};

async function open(dir: string) {
  const { ClassicLevel } = await import('classic-level');
  const db = new ClassicLevel<string, Buffer>(path.join(dir, 'db'), { valueEncoding: 'buffer' });
  await db.open();
  return db;
}

export const leveldbProgram: BuiltinProgram = {
  async prepare(dir) {
    const db = await open(dir);
    await db.close();
  },
  async workload(dir, setting, seed, report) {
    const db = await open(dir);
    const sync = setting === 'sync-true';
    for (const op of operations(seed)) {
      report.intent(op.key, op.digest);
      await db.put(op.key, op.value, { sync });
      report.ack(op.key, op.digest);
    }
  },
  async check(dir) {
    const survivors = new Map<string, string>();
    let db;
    try {
      db = await open(dir);
      for await (const [key, value] of db.iterator()) survivors.set(key, digestOf(value));
      // Every key the iterator listed must read back by itself, with the same value.
      for (const [key, digest] of survivors) {
        const value = await db.get(key);
        if (value === undefined || digestOf(value) !== digest) return { survivors, damage: `leveldb: key ${key} is listed but does not read back` };
      }
      await db.close();
      return { survivors, damage: null };
    } catch (error) {
      await db?.close().catch(() => undefined);
      return { survivors, damage: `leveldb: ${(error as Error).message.split('\n')[0]}` };
    }
  },
};
