export { judgeCrash, type CrashVerdict, type JudgeInput } from './verdict.js';
export {
  foldHistory,
  requiredSeqs,
  OracleInputError,
  DEFAULT_SYNC_FAILURE_CODES,
  type HistoryFacts,
  type FoldOptions,
  type OracleInputErrorCode,
  type RequiredReason,
} from './history.js';
export { checkDurability, promiseOf, type DurabilityVerdict, type DurabilityPromise } from './durability.js';
export { checkIntegrity, type IntegrityVerdict, type DigestMismatch } from './integrity.js';
export { checkPrefix, type PrefixVerdict, type Gap } from './prefix.js';
export { checkAcknowledgement, type AcknowledgementVerdict } from './acknowledgement.js';
export { checkExpectation, lossNumbers, type ExpectationVerdict, type LossNumbers } from './expectation.js';
export { summariseTrials, type TrialSummary } from './trial-summary.js';
export { toDigests, type RecoveredEntry, type RecoveredDigest } from './recovered.js';
export { EVIDENCE_LIMIT, type CheckName, type CheckResult, type SeqList } from './verdict-types.js';
export { historyAtCrash, historyAtPublishedMarks } from './history-at-crash.js';
export { secondLifeHistory } from './second-life.js';
