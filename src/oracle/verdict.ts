import type { Strategy } from '../strategy/index.js';
import type { WorkloadEvent } from '../workload/events.js';
import { checkAcknowledgement, type AcknowledgementVerdict } from './acknowledgement.js';
import { checkDurability, type DurabilityVerdict } from './durability.js';
import { checkExpectation, type ExpectationVerdict, type LossNumbers } from './expectation.js';
import { foldHistory, type FoldOptions } from './history.js';
import { checkIntegrity, type IntegrityVerdict } from './integrity.js';
import { checkPrefix, type PrefixVerdict } from './prefix.js';
import { toDigests, type RecoveredEntry } from './recovered.js';
import type { CheckName } from './verdict-types.js';

export interface JudgeInput extends FoldOptions {
  /** The writer's events up to the crash, in stream order. */
  history: readonly WorkloadEvent[];
  /** What WAL recovery returned after the crash, in the order it returned them. */
  recovered: readonly RecoveredEntry[];
}

export interface CrashVerdict {
  /** 'violated' when any check is violated. */
  status: 'held' | 'violated';
  /** The names of the violated checks, in a fixed order. */
  violated: CheckName[];
  strategy: Strategy;
  groupCommit: boolean;
  checks: {
    durability: DurabilityVerdict;
    integrity: IntegrityVerdict;
    prefix: PrefixVerdict;
    acknowledgement: AcknowledgementVerdict;
    expectation: ExpectationVerdict;
  };
  loss: LossNumbers;
}

/** Judge one crash: every check of the strategy's contract, with evidence for each violation. */
export function judgeCrash(input: JudgeInput): CrashVerdict {
  const facts = foldHistory(input.history, input);
  const recovered = toDigests(input.recovered);
  const checks = {
    durability: checkDurability(facts, recovered),
    integrity: checkIntegrity(facts, recovered),
    prefix: checkPrefix(facts, recovered),
    acknowledgement: checkAcknowledgement(facts),
    expectation: checkExpectation(facts, recovered),
  };
  const violated = (Object.keys(checks) as CheckName[]).filter((name) => checks[name].status === 'violated');
  return {
    status: violated.length === 0 ? 'held' : 'violated',
    violated,
    strategy: facts.strategy,
    groupCommit: facts.groupCommit,
    checks,
    loss: checks.expectation.loss,
  };
}
