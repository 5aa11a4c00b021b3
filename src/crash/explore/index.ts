// Crash states of dm-log-writes recordings: checking every state of a recording (any number of
// jobs, one shard of them, resumable from a store), merging shards, and fuzzing state choices
// across recordings. Loaded by `pnpm fuzz` and by the log-writes mode only: the crashtest bundle
// that runs inside the microVM never checks states (that happens on the host).
export { checkRecording, OpenRecording, StateChecker, CHECK_FORMAT, type CheckOptions } from './check-states.js';
export {
  parseShard,
  statesOfShard,
  summariseStates,
  campaignEntry,
  type CampaignEntry,
  type CheckReport,
  type CheckTimings,
  type StateResult,
  type JudgedState,
  type Shard,
  type EpochCoverage,
  type StatesSummary,
} from './check-report.js';
export { mergeStores, type MergedRecording } from './merge.js';
export { ResultStore, checkerVersion, recordingHash, type StoreHeader } from './result-store.js';
export { runFuzz, checkOneState, findRecordings, REGRESSIONS_DIR, type FuzzOptions, type FuzzResult, type ExpectedCheck } from './fuzz.js';
export { againstExpectation, asExpected, type ExpectedOutcome } from './expected-verdict.js';
export { workloadArb, specOf, stateChoiceArb, type WorkloadChoice, type StateChoice, type StateSpace } from './fuzz-space.js';
