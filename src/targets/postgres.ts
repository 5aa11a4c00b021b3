import type { Contract } from './contract.js';
import { pgUnavailable } from './pg-server.js';
import { builtinCommands, type Target, type TargetSetting } from './target.js';

// PostgreSQL 15: a server on the device under test, clients inserting rows (key, value), each
// commit acknowledged once COMMIT returns (the program half: src/targets/postgres-program.ts).
// Settings: synchronous_commit x fsync x full_page_writes x wal_sync_method, named like
// sc-on.fsync-on.fpw-on.fdatasync. Contracts from PostgreSQL's documentation:
//   https://www.postgresql.org/docs/15/wal-async-commit.html: with synchronous_commit off "the
//     most recent transactions may be lost", but "the risk window is limited because a background
//     process (the WAL writer) flushes unwritten WAL records to disk every wal_writer_delay
//     milliseconds. The actual maximum duration of the risk window is three times
//     wal_writer_delay"; unlike fsync off it does not risk inconsistency: "setting this parameter
//     to off does not create any risk of database inconsistency" (runtime-config-wal,
//     synchronous_commit).
//   https://www.postgresql.org/docs/15/runtime-config-wal.html#GUC-FSYNC: turning fsync off "can
//     result in unrecoverable data corruption in the event of a power failure or system crash".
//   ...#GUC-FULL-PAGE-WRITES: turning it off "might lead to either unrecoverable data corruption,
//     or silent data corruption, after a system failure" (silent: rows may be lost or wrong too).
//   ...#GUC-WAL-SYNC-METHOD: fdatasync, open_datasync and fsync are each a way of forcing WAL to
//     disk: with fsync, full_page_writes and synchronous_commit on, a commit is durable.
// Each setting also comes with pg_wal on a second device (the name ends in WAL_DEVICE_SUFFIX), cut
// at the same instant as the data directory's: PostgreSQL documents that layout and promises the
// same of it. https://www.postgresql.org/docs/15/wal-internals.html: "It is advantageous if the
// WAL is located on a different disk from the main database files. This can be achieved by moving
// the pg_wal directory to another location (while the server is shut down, of course) and
// creating a symbolic link from the original location in the main data directory to the new
// location" (what prepare does; initdb --waldir makes the same symlink, storage-file-layout.html).
// A real power failure takes both disks at once, so the contracts are the one-device ones.

export const PG_WAL_WRITER_DELAY_MS = 200;
const WAL_PAGE = 'https://www.postgresql.org/docs/15/runtime-config-wal.html';
const ASYNC_PAGE = 'https://www.postgresql.org/docs/15/wal-async-commit.html';

const ON_OFF = ['on', 'off'] as const;
const SYNC_METHODS = ['fdatasync', 'open_datasync', 'fsync'] as const;
type OnOff = (typeof ON_OFF)[number];

export interface PgSetting {
  synchronousCommit: OnOff;
  fsync: OnOff;
  fullPageWrites: OnOff;
  walSyncMethod: (typeof SYNC_METHODS)[number];
  /** pg_wal on a second device ($POWERCUT_DATA2), the data directory's pg_wal a symlink to it. */
  walDevice: boolean;
}

/** The end of a setting's name that puts pg_wal on a second device. */
export const WAL_DEVICE_SUFFIX = '.wal-dev';

export function pgSettingName(s: PgSetting): string {
  return `sc-${s.synchronousCommit}.fsync-${s.fsync}.fpw-${s.fullPageWrites}.${s.walSyncMethod}${s.walDevice ? WAL_DEVICE_SUFFIX : ''}`;
}

/** The setting a name stands for, or undefined. */
export function parsePgSetting(name: string): PgSetting | undefined {
  const walDevice = name.endsWith(WAL_DEVICE_SUFFIX);
  const m = /^sc-(on|off)\.fsync-(on|off)\.fpw-(on|off)\.(fdatasync|open_datasync|fsync)$/.exec(walDevice ? name.slice(0, -WAL_DEVICE_SUFFIX.length) : name);
  if (m === null) return undefined;
  return {
    synchronousCommit: m[1] as OnOff,
    fsync: m[2] as OnOff,
    fullPageWrites: m[3] as OnOff,
    walSyncMethod: m[4] as PgSetting['walSyncMethod'],
    walDevice,
  };
}

/** postgresql.conf lines for a setting. */
export function pgSettingConf(s: PgSetting): string[] {
  return [
    `synchronous_commit = ${s.synchronousCommit}`,
    `fsync = ${s.fsync}`,
    `full_page_writes = ${s.fullPageWrites}`,
    `wal_sync_method = ${s.walSyncMethod}`,
    `wal_writer_delay = ${PG_WAL_WRITER_DELAY_MS}ms`,
  ];
}

export function pgContract(s: PgSetting): Contract {
  if (s.fsync === 'off')
    return {
      promise: { kind: 'none' },
      mayCorrupt: true,
      says: 'fsync off: a power failure can leave unrecoverable corruption',
      cite: `${WAL_PAGE}#GUC-FSYNC`,
    };
  if (s.fullPageWrites === 'off')
    return {
      promise: { kind: 'none' },
      mayCorrupt: true,
      says: 'full_page_writes off: unrecoverable or silent data corruption after a system failure',
      cite: `${WAL_PAGE}#GUC-FULL-PAGE-WRITES`,
    };
  if (s.synchronousCommit === 'off')
    return {
      promise: { kind: 'window', ms: 3 * PG_WAL_WRITER_DELAY_MS },
      mayCorrupt: false,
      says: `synchronous_commit off: commits of the last 3 x wal_writer_delay (${3 * PG_WAL_WRITER_DELAY_MS} ms) may be lost; no inconsistency`,
      cite: ASYNC_PAGE,
    };
  return {
    promise: { kind: 'durable' },
    mayCorrupt: false,
    says: `synchronous_commit, fsync, full_page_writes on (${s.walSyncMethod}): a commit is durable once it returns`,
    cite: `${WAL_PAGE}#GUC-WAL-SYNC-METHOD`,
  };
}

const SETTINGS: TargetSetting[] = [false, true].flatMap((walDevice) =>
  ON_OFF.flatMap((synchronousCommit) =>
    ON_OFF.flatMap((fsync) =>
      ON_OFF.flatMap((fullPageWrites) =>
        SYNC_METHODS.map((walSyncMethod): TargetSetting => {
          const s: PgSetting = { synchronousCommit, fsync, fullPageWrites, walSyncMethod, walDevice };
          return { name: pgSettingName(s), contract: pgContract(s), ...(walDevice ? { devices: 2 } : {}) };
        }),
      ),
    ),
  ),
);

// Acknowledgements per dm-log-writes recording. Each crash state starts a server on it (its crash
// recovery), reads every row and runs pg_amcheck: 0.3-0.7 s of the host's time, so a setting whose
// every commit flushes (a few states each) records few. (synchronous_commit off records on until
// its acknowledgements span several windows, src/crash/target/log-writes-mode.ts: its commits do
// not flush, so its states grow with the WAL writer's flushes, not with the commits.)
const RECORD_ACKS = 8;

export const postgresTarget: Target = {
  name: 'postgres',
  describe:
    'PostgreSQL 15: synchronous_commit x fsync x full_page_writes x wal_sync_method, pg_wal on the data device or a second one; crash recovery, every row, pg_amcheck',
  settings: SETTINGS,
  // One of each contract, a second sync method and the durable one with pg_wal on a second
  // device: each trial starts and recovers a server (tens of seconds under the microVM's
  // emulation), so the default run stays within a few minutes.
  defaultSettings: [
    'sc-on.fsync-on.fpw-on.fdatasync',
    'sc-on.fsync-on.fpw-on.open_datasync',
    'sc-off.fsync-on.fpw-on.fdatasync',
    'sc-on.fsync-off.fpw-on.fdatasync',
    `sc-on.fsync-on.fpw-on.fdatasync${WAL_DEVICE_SUFFIX}`,
  ],
  defaultTrials: 2,
  recordAcks: RECORD_ACKS,
  unavailable: pgUnavailable,
  commands: (setting, ctx) => builtinCommands('postgres', setting, ctx),
};
