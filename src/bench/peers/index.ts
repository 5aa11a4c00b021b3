export { type PeerDriver, type Readiness } from './peer-driver.js';
export { RawFloorDriver, compileRawFloor, parseRawFloorOutput, type RawFloorOutput } from './raw-floor.js';
export { PgTestFsyncDriver, parsePgTestFsync, pgTestFsyncFdatasync, PG_BIN_DIR, type PgTestFsyncRow } from './pg-test-fsync.js';
export { FioDriver, fioArgs, parseFioJson, type FioResult } from './fio.js';
export { SqliteDriver } from './sqlite.js';
export { LevelDbDriver } from './leveldb.js';
export { PgbenchDriver, parsePgbenchSummary, recordPgbenchLog, pgbenchScript, pgbenchServerConf, type PgbenchSummary } from './pgbench.js';
