import { describe, expect, it } from 'vitest';
import { historyAtCrash, judgeCrash, OracleInputError, summariseTrials, type CrashVerdict, type RecoveredEntry } from '../../src/oracle/index.js';
import { payloadDigest, type Strategy, type WorkloadEvent } from '../../src/workload/events.js';

// A tiny history script: 'a3' appends seq 3, 'k3' acks it, 'd3' publishes watermark 3,
// 't3' starts truncate(before 3), 'T3' completes it, 'f3' fails seq 3 with WAL_IO.
function history(strategy: Strategy, script: string, groupCommit = false): WorkloadEvent[] {
  const events: WorkloadEvent[] = [{ type: 'started', strategy, groupCommit, periodMs: strategy === 'periodic' ? 10 : null, pid: 1 }];
  for (const token of script.split(/\s+/).filter(Boolean)) {
    const seq = Number(token.slice(1));
    switch (token[0]) {
      case 'a':
        events.push({ type: 'appended', seq, digest: digestOf(seq), size: 8 });
        break;
      case 'k':
        events.push({ type: 'acked', seq });
        break;
      case 'd':
        events.push({ type: 'durable', seq });
        break;
      case 't':
        events.push({ type: 'truncating', beforeSeq: seq });
        break;
      case 'T':
        events.push({ type: 'truncated', beforeSeq: seq });
        break;
      case 'f':
        events.push({ type: 'failed', seq, code: 'WAL_IO', message: 'fdatasync: EIO' });
        break;
      default:
        throw new Error(`bad token ${token}`);
    }
  }
  return events;
}

function digestOf(seq: number): string {
  return payloadDigest(Buffer.from(`payload-${seq}`));
}

function intact(...seqs: number[]): RecoveredEntry[] {
  return seqs.map((seq) => ({ seq, digest: digestOf(seq) }));
}

function judge(strategy: Strategy, script: string, recovered: RecoveredEntry[]): CrashVerdict {
  return judgeCrash({ history: history(strategy, script), recovered });
}

const APPEND_ACK_3 = 'a1 k1 a2 k2 a3 k3';

describe('oracle: durability', () => {
  it.each(['fsync', 'fdatasync', 'dsync', 'direct'] as const)('AckedEntryPresent holds for %s', (strategy) => {
    const v = judge(strategy, APPEND_ACK_3, intact(1, 2, 3));
    expect(v.status).toBe('held');
    expect(v.checks.durability).toEqual({ status: 'held', promise: 'acked-durable', required: 3 });
  });

  it.each(['fsync', 'fdatasync', 'dsync', 'direct'] as const)('AckedEntryLost is a violation for %s', (strategy) => {
    const v = judge(strategy, APPEND_ACK_3, intact(1, 2));
    expect(v.status).toBe('violated');
    expect(v.violated).toEqual(['durability', 'expectation']);
    const d = v.checks.durability;
    expect(d.status === 'violated' && d.missingAcked).toEqual({ seqs: [3], count: 1 });
  });

  it('AckedEntryLostUnderGroupCommit is a violation', () => {
    const v = judgeCrash({ history: history('fdatasync', APPEND_ACK_3, true), recovered: intact(1) });
    expect(v.groupCommit).toBe(true);
    expect(v.checks.durability.status).toBe('violated');
  });

  it('UnackedTailLost is allowed for a durable strategy', () => {
    const v = judge('fsync', 'a1 k1 a2 a3', intact(1));
    expect(v.status).toBe('held');
    expect(v.loss).toMatchObject({ appended: 3, acked: 1, recovered: 1, lost: 2, ackedButLost: 0, lostBeyondContract: 0 });
  });

  it('PeriodicAckedAboveWatermarkLost is allowed', () => {
    const v = judge('periodic', 'a1 k1 a2 k2 d2 a3 k3 a4 k4', intact(1, 2));
    expect(v.status).toBe('held');
    expect(v.checks.expectation).toMatchObject({ status: 'held', promise: 'watermark', lossObserved: true });
    expect(v.loss).toMatchObject({ ackedButLost: 2, lostAfterWatermark: 2, lostBeyondContract: 0, watermark: 2 });
  });

  it('PeriodicEntryAtWatermarkLost is a violation', () => {
    const v = judge('periodic', 'a1 k1 a2 k2 d2 a3 k3', intact(1));
    const d = v.checks.durability;
    expect(d.status).toBe('violated');
    expect(d.status === 'violated' && d.missingBelowWatermark).toEqual({ seqs: [2], count: 1 });
    expect(v.loss.lostBeyondContract).toBe(1);
  });

  it('PeriodicUnackedEntryBelowWatermarkRequired: the watermark covers unacknowledged entries too', () => {
    const v = judge('periodic', 'a1 a2 d2 k1', intact(1));
    expect(v.checks.durability.status).toBe('violated');
  });

  it('PeriodicUsesLastWatermark: an older lower watermark does not lower the requirement', () => {
    const v = judge('periodic', 'a1 a2 a3 d3 d1', intact(1, 2));
    expect(v.checks.durability.status).toBe('violated');
  });

  it('NoneLosingEverythingHolds', () => {
    const v = judge('none', APPEND_ACK_3 + ' d3', intact());
    expect(v.status).toBe('held');
    expect(v.checks.durability).toEqual({ status: 'held', promise: 'none', required: 0 });
    expect(v.checks.expectation).toMatchObject({ status: 'held', lossObserved: true });
    expect(v.loss).toMatchObject({ lost: 3, ackedButLost: 3, lostBeyondContract: 0 });
  });

  it('FailedUnackedAppendIsNotRequired even below a watermark', () => {
    const v = judge('periodic', 'a1 a2 f2 d2', intact(1));
    expect(v.checks.durability.status).toBe('held');
  });
});

describe('oracle: integrity', () => {
  it('DigestMismatch is a violation with expected and actual digests', () => {
    const v = judge('none', 'a1 a2', [...intact(1), { seq: 2, digest: digestOf(99) }]);
    const i = v.checks.integrity;
    expect(i.status).toBe('violated');
    expect(i.status === 'violated' && i.mismatched).toEqual({ first: [{ seq: 2, expected: digestOf(2), actual: digestOf(99) }], count: 1 });
  });

  it('TornTailReturned is a violation (a cut tail must not be returned)', () => {
    const v = judge('fsync', 'a1 k1 a2', [...intact(1), { seq: 2, payload: Buffer.from('payload') }]);
    expect(v.violated).toEqual(['integrity']);
  });

  it('PayloadMatchingDigestHolds when recovery hands back payloads', () => {
    const v = judge('fsync', 'a1 k1', [{ seq: 1, payload: Buffer.from('payload-1') }]);
    expect(v.status).toBe('held');
  });

  it('NeverAppendedSeq is a violation', () => {
    const v = judge('none', 'a1', intact(1, 2));
    const i = v.checks.integrity;
    expect(i.status === 'violated' && i.neverAppended).toEqual({ seqs: [2], count: 1 });
  });

  it('DuplicatedSeq is a violation', () => {
    const v = judge('none', 'a1 a2', intact(1, 1, 2));
    const i = v.checks.integrity;
    expect(i.status === 'violated' && i.duplicated).toEqual({ seqs: [1], count: 1 });
  });
});

describe('oracle: prefix', () => {
  it('ContiguousRunHolds', () => {
    expect(judge('none', 'a1 a2 a3', intact(1, 2)).checks.prefix).toEqual({ status: 'held', first: 1, last: 2 });
  });

  it('EmptyRecoveryHolds', () => {
    expect(judge('none', 'a1', intact()).checks.prefix).toEqual({ status: 'held', first: null, last: null });
  });

  it('EntryAfterGap is a violation', () => {
    const p = judge('none', 'a1 a2 a3 a4', intact(1, 2, 4)).checks.prefix;
    expect(p.status === 'violated' && p.gaps).toEqual({ first: [{ after: 2, next: 4 }], count: 1 });
  });

  it('OutOfOrderRecovery is a violation', () => {
    const p = judge('none', 'a1 a2 a3', intact(2, 1)).checks.prefix;
    expect(p.status === 'violated' && p.outOfOrder).toEqual({ index: 1, seq: 1, previous: 2 });
  });

  it('MissingHeadWithoutTruncate is a violation', () => {
    const p = judge('none', 'a1 a2 a3', intact(2, 3)).checks.prefix;
    expect(p.status === 'violated' && p.headMissing).toEqual({ firstRecovered: 2, latestAllowedStart: 1 });
  });

  it('MissingHeadBelowStartedTruncate holds (crash in the middle of a truncate)', () => {
    const v = judge('fsync', 'a1 k1 a2 k2 a3 k3 a4 k4 t3', intact(2, 3, 4));
    expect(v.status).toBe('held');
    expect(v.loss).toMatchObject({ truncatedAway: 1, lost: 0 });
  });

  it('EntriesBelowCompletedTruncateMayRemain', () => {
    expect(judge('fsync', 'a1 k1 a2 k2 a3 k3 t3 T3', intact(1, 2, 3)).status).toBe('held');
  });

  it('MissingHeadBeyondTruncateFloor is a violation', () => {
    const v = judge('none', 'a1 a2 a3 a4 t2 T2', intact(3, 4));
    expect(v.checks.prefix.status).toBe('violated');
  });

  it('AckedEntryAtTruncateFloorLost is a durability violation', () => {
    const v = judge('fsync', 'a1 k1 a2 k2 a3 k3 t2 T2', intact(3));
    expect(v.violated).toEqual(['durability', 'prefix', 'expectation']);
  });
});

describe('oracle: acknowledgement after a failed sync', () => {
  it('AckAfterSyncFailure is a violation', () => {
    const a = judge('fsync', 'a1 a2 f1 k2', intact(1, 2)).checks.acknowledgement;
    expect(a.status).toBe('violated');
    expect(a.status === 'violated' && a.ackedAfterSyncFailure.first[0]).toMatchObject({ seq: 2, failureCode: 'WAL_IO' });
  });

  it('AckBeforeSyncFailure holds', () => {
    expect(judge('fsync', 'a1 k1 a2 f2', intact(1)).checks.acknowledgement).toEqual({ status: 'held' });
  });

  it.each(['WAL_NO_SPACE', 'WAL_FAILED'])('AckAfter%sFailure is a violation', (code) => {
    const h = history('fsync', 'a1 a2 k2');
    h.splice(3, 0, { type: 'failed', seq: 1, code, message: 'x' });
    expect(judgeCrash({ history: h, recovered: intact(1, 2) }).checks.acknowledgement.status).toBe('violated');
  });

  it('NonSyncFailureCodes do not forbid later acks', () => {
    const h = history('fsync', 'a1 a2 k2');
    h.splice(2, 0, { type: 'failed', seq: 1, code: 'WAL_INVALID_ARGUMENT', message: 'too big' });
    expect(judgeCrash({ history: h, recovered: intact(1, 2) }).checks.acknowledgement.status).toBe('held');
  });
});

describe('oracle: inputs', () => {
  it('HistoryWithoutStarted needs an explicit strategy', () => {
    const h = history('fsync', 'a1 k1').slice(1);
    expect(() => judgeCrash({ history: h, recovered: [] })).toThrowError(OracleInputError);
    expect(judgeCrash({ history: h, recovered: [], strategy: 'fsync' }).checks.durability.status).toBe('violated');
  });

  it('ExplicitStrategyOverridesStarted', () => {
    expect(judgeCrash({ history: history('fsync', 'a1 k1'), recovered: [], strategy: 'none' }).status).toBe('held');
  });

  it('AckForNeverAppendedSeq is an inconsistent history', () => {
    expect(() => judge('fsync', 'a1 k2', [])).toThrowError(/acknowledged but never appended/);
  });

  it('SameSeqAppendedWithTwoDigests is an inconsistent history', () => {
    const h = history('fsync', 'a1');
    h.push({ type: 'appended', seq: 1, digest: digestOf(2), size: 8 });
    expect(() => judgeCrash({ history: h, recovered: [] })).toThrowError(/appended twice/);
  });

  it('ConcurrentWritersMayAnnounceSeqsOutOfOrder', () => {
    const v = judge('fsync', 'a2 a1 k1 a3 k2', intact(1, 2));
    expect(v.status).toBe('held');
    expect(judge('none', 'a2 a1 a3', intact(2, 3)).checks.prefix.status).toBe('violated');
  });

  it('InvalidRecoveredSeq is rejected', () => {
    expect(() => judge('none', 'a1', [{ seq: -1, digest: digestOf(1) }])).toThrowError(/invalid seq/);
  });

  it('EvidenceListsAreCapped', () => {
    const script = Array.from({ length: 50 }, (_, i) => `a${i + 1} k${i + 1}`).join(' ');
    const d = judge('fsync', script, []).checks.durability;
    expect(d.status === 'violated' && d.missing.seqs).toHaveLength(20);
    expect(d.status === 'violated' && d.missing.count).toBe(50);
  });
});

describe('oracle: trial summary', () => {
  it('NoneNeverLosing says the crash was not shown to be real', () => {
    const s = summariseTrials([judge('none', 'a1 k1', intact(1)), judge('none', 'a1 a2', intact(1, 2))]);
    expect(s).toMatchObject({ trials: 2, appended: 3, trialsWithLoss: 0, status: 'held', crashReality: 'not-shown' });
  });

  it('PeriodicLosingInsideWindow shows a real crash', () => {
    const s = summariseTrials([judge('periodic', 'a1 k1 d1 a2 k2', intact(1))]);
    expect(s).toMatchObject({ ackedButLost: 1, lostBeyondContract: 0, status: 'held', crashReality: 'shown' });
  });

  it('DurableStrategyViolationIsCounted', () => {
    const s = summariseTrials([judge('fsync', 'a1 k1', intact()), judge('fsync', 'a1 k1', intact(1))]);
    expect(s).toMatchObject({ violatedTrials: 1, status: 'violated', crashReality: 'not-applicable', ackedButLost: 1 });
  });

  it('MixedStrategiesAreRejected', () => {
    expect(() => summariseTrials([judge('fsync', 'a1', []), judge('none', 'a1', [])])).toThrowError(/one strategy at a time/);
  });
});

describe('oracle: history at a crash state of a log-writes recording', () => {
  it('HistoryAtCrashKeepsPromisesUpToTheLastVisibleMark', () => {
    const h = history('periodic', 'a1 a2 k1 k2 d2 a3 k3 t2 T2 a4');
    const cut = historyAtCrash(h, ['ack-1', 'ack-2']);
    // k1 and k2 kept (k1 precedes the visible ack-2 mark); d2, k3, T2 dropped; appends and the
    // started truncate kept.
    expect(cut.map((e) => e.type)).toEqual(['started', 'appended', 'appended', 'acked', 'acked', 'appended', 'truncating', 'appended']);
    expect(historyAtCrash(h, ['durable-2']).filter((e) => e.type === 'acked')).toHaveLength(2);
    expect(historyAtCrash(h, []).some((e) => e.type === 'acked' || e.type === 'durable')).toBe(false);
  });

  it('HistoryAtCrashMakesTheOracleCheckOnlyPromisesMadeBeforeTheCrash', () => {
    const h = history('fsync', 'a1 k1 a2 k2');
    expect(judgeCrash({ history: historyAtCrash(h, ['ack-1']), recovered: intact(1) }).status).toBe('held');
    expect(judgeCrash({ history: historyAtCrash(h, ['ack-1', 'ack-2']), recovered: intact(1) }).status).toBe('violated');
  });
});
