// dm-log-writes: the target's table and messages, the log's on-disk format, replay onto an image,
// and the crash states a recorded log allows (what a volatile device cache may have kept).
export { logWritesTable, logWritesMark, logWritesStatus, parseLogWritesStatus, checkMarkLabel, markMessage, type LogWritesStatus } from './table.js';
export { iterateEntries, LOG_WRITES_MAGIC, LOG_WRITES_VERSION, LogFlag, ENTRY_HEADER_BYTES, LogWritesError, hasFlag, flagNames, openLog, closeLog, LogIndex, type LogWritesErrorCode, type LogSuper, type LogEntry, type LogFile, type IterateOptions, type IteratedEntry } from './format.js';
export { ReplayError, parseTarget, formatTarget, ImageWriter, createZeroImage, Replayer, replayToImage, type ReplayErrorCode, type ReplayTarget, type ReplayProgress } from './replay.js';
export { CrashStateEnumeration, stateFromId, enumerateStates, tearPoints, ImageKeyer, visibleMarks, StateMaterialiser, type StateWrite, type CrashStateKind, type PersistenceReason, type CrashState, type EnumerateOptions, type Coverage } from './crash-states.js';
