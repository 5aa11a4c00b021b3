// Crash states of dm-log-writes recordings: checking every state of a recording, and fuzzing
// state choices across recordings. Loaded by `pnpm fuzz` and by the log-writes mode only: the
// crashtest bundle that runs inside the microVM never checks states (that happens on the host).
export { checkRecording, OpenRecording, StateChecker, type CheckReport, type CheckTimings, type StateResult, type JudgedState } from './check-states.js';
export { runFuzz, checkOneState, findRecordings, REGRESSIONS_DIR, type FuzzOptions, type FuzzResult, type ExpectedCheck } from './fuzz.js';
export { againstExpectation, asExpected, type ExpectedOutcome } from './expected-verdict.js';
export { workloadArb, specOf, stateChoiceArb, type WorkloadChoice, type StateChoice, type StateSpace } from './fuzz-space.js';
