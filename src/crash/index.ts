export { CrashError, type CrashErrorCode } from './crash-error.js';
export { type Scenario, type ScenarioPlan, type ScenarioStep, type Trigger, type WorkloadShape, entrySpan, SEGMENT_HEADER_BYTES } from './plan/scenario.js';
export { SCENARIOS, SCENARIO_NAMES, findScenario } from './plan/registry.js';
export { planTrial, trialSeed, type TrialPlan } from './plan/trial-plan.js';
export { DeviceStack, type TableSwap } from './flakey/device-stack.js';
export { WriterChild, type StreamProgress, type WaitOutcome } from './writer/child.js';
export { WriterLauncher, type LaunchedWriter } from './writer/launcher.js';
export { recoverWal, type Recovery, type RecoveryStats } from './writer/recover.js';
export { runTrial, type TrialResult, type TrialContext, type FlakeyEvidence } from './flakey/trial.js';
export { reasonsOf } from './verdict-reasons.js';
export {
  saveFlakeyArtifacts,
  saveRecordingArtifacts,
  artifactName,
  copySparse,
  ARTIFACT_FILES,
  type FlakeyArtifactInput,
  type RecordingArtifactInput,
  type ViolatedStateRecord,
  type ArtifactCommands,
} from './artifacts.js';
export { summaryRows, runVerdict, formatSummaryTable, type SummaryRow, type RowVerdict } from './summary.js';
export {
  type TrialOutcome,
  type WalTrialOutcome,
  type TargetTrialOutcome,
  type TrialPosition,
  type TimelineEntry,
  subjectLabel,
  isTargetOutcome,
} from './outcome.js';
export { buildResults, exitCodeOf, type RunResults } from './results.js';
export { trialIndices, replayCommand, type RunOptions, type CrashMode } from './options.js';
export { runFlakeyMode } from './flakey/mode.js';
export { runMode, checkModeBuilt, logWritesModule } from './modes.js';
export { requireRoot, hostHasTarget, choosePlacement, type Placement, type DmTargetName } from './placement.js';
export { runInMicroVm, innerArgs } from './vm-handoff.js';
export { ConsoleReporter, ProtocolReporter, formatTrialLine, parseProtocolLine, PROTOCOL_MARK, type Reporter, type ProtocolMessage } from './reporter.js';
export { recheck, type RecheckResult } from './recheck.js';
export {
  bundleCrashtest,
  bundleEntries,
  removeBundles,
  useAddonSnapshot,
  siblingWriterBundle,
  PROJECT_ROOT,
  type Bundles,
  type BundleSpec,
  type BundleOutput,
} from './bundle.js';
export {
  runDefaultChecks,
  defaultPlan,
  defaultRunOptions,
  defaultRunLabel,
  type DefaultRunOptions,
  type DefaultRunResult,
  type CheckOutcome,
} from './default-run.js';
export { coverageOf, formatCoverage, FAULT_CLASSES, type FaultClass, type Coverage } from './coverage.js';
export { recordableScenarios } from './plan/recordable.js';
