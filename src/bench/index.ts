// The throughput suite (`pnpm bench`). Re-exports only.
export { runSuite, type SuiteHooks } from './suite.js';
export { parseBenchOptions, parseSize, defaultOutDir, BACKGROUND_IO_CLASSES, type BenchSelection, type RawBenchOptions, type BackgroundIo } from './options.js';
export { buildMatrix, roundOrder, runsOnce, PG_TEST_FSYNC_SIZE } from './matrix.js';
export * from './cell.js';
export { BenchError, type BenchErrorCode } from './bench-error.js';
export {
  RESULTS_SCHEMA,
  toMetrics,
  type BenchResults,
  type CellResult,
  type MeasuredCell,
  type Metrics,
  type TargetResult,
  type TargetStatus,
  type FsReport,
  type PeerReport,
} from './results.js';
export { computeTargets, floorTargets, groupTargets, peerTargets, preallocTargets, flushPassThroughChecks, referenceWal } from './targets.js';
export { parseDiskstats, counterDelta, perCommit, backingDevice, mountOf, type DiskCounters, type BlockDevice } from './diskstats.js';
export { writeCharts, renderSvg, CHARTS, type ChartSpec, type WrittenChart } from './charts.js';
export { formatReport, formatTargets, COLUMN_NOTES } from './report.js';
export { tableRows, formatConsoleTable, formatMarkdownTable, TABLE_HEADER } from './table.js';
export { prepareFilesystems, LOOP_FILESYSTEMS, type FsTarget, type ReadyFs } from './filesystems.js';
export { runWalSlice, SEGMENT_BYTES, PERIOD_MS } from './wal-cell.js';
