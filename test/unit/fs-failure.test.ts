import { describe, expect, it } from 'vitest';
import { fsckVerdict, type FsckReport } from '../../src/dm/fsck.js';
import { crashStatus, fsFailureReason } from '../../src/crash/fs-failure.js';
import { runVerdict, summaryRows } from '../../src/crash/summary.js';
import { judgeCrash, type RecoveredEntry } from '../../src/oracle/index.js';
import { payloadDigest, type WorkloadEvent } from '../../src/workload/events.js';

// Whose loss is it after a cut on a filesystem without a journal: the real oracle's verdicts over
// small histories, with fsck reports as e2fsck's exit codes would make them.

const payload = (seq: number) => Buffer.from(`entry-${seq}`);

function history(appended: number, acked: number): WorkloadEvent[] {
  const events: WorkloadEvent[] = [{ type: 'started', strategy: 'fdatasync', groupCommit: false, periodMs: null, pid: 1 }];
  for (let seq = 1; seq <= appended; seq++) events.push({ type: 'appended', seq, digest: payloadDigest(payload(seq)), size: payload(seq).length });
  for (let seq = 1; seq <= acked; seq++) events.push({ type: 'acked', seq });
  return events;
}

const entries = (seqs: number[], wrong?: number): RecoveredEntry[] =>
  seqs.map((seq) => ({ seq, payload: seq === wrong ? Buffer.from('garbage') : payload(seq) }));

function report(...codes: number[]): FsckReport {
  const runs = codes.map((exitCode, i) => ({ command: `e2fsck ${i === 0 ? '-p' : '-y'} -f /dev/x`, exitCode, output: `pass 5\nexit ${exitCode}` }));
  return { runs, ...fsckVerdict(runs) };
}

describe('fsck verdict from exit codes', () => {
  it('0 is clean, 1 repaired, 4 then 1 repaired, 4 then 4 left uncorrected', () => {
    expect(fsckVerdict(report(0).runs)).toEqual({ repaired: false, uncorrected: false });
    expect(fsckVerdict(report(1).runs)).toEqual({ repaired: true, uncorrected: false });
    expect(fsckVerdict(report(4, 1).runs)).toEqual({ repaired: true, uncorrected: false });
    expect(fsckVerdict(report(4, 4).runs)).toEqual({ repaired: true, uncorrected: true });
  });
});

describe('crashStatus', () => {
  const lost = judgeCrash({ history: history(6, 6), recovered: entries([1, 2, 3]) });
  const wrongPayload = judgeCrash({ history: history(6, 6), recovered: entries([1, 2, 3, 4, 5, 6], 4) });
  const fine = judgeCrash({ history: history(6, 6), recovered: entries([1, 2, 3, 4, 5, 6]) });

  it('holds when the contract held, whatever fsck did', () => {
    expect(crashStatus(fine, false, report(1))).toBe('held');
  });

  it('a lost acknowledged entry is the WAL violation without a repair, the filesystem failure after one', () => {
    expect(lost.status).toBe('violated');
    expect(crashStatus(lost, false, undefined)).toBe('violated');
    expect(crashStatus(lost, false, report(0))).toBe('violated');
    expect(crashStatus(lost, false, report(1))).toBe('fs-failed');
    expect(crashStatus(fine, true, report(4, 1))).toBe('fs-failed');
  });

  it('a wrong payload is always the WAL violation, even after a repair', () => {
    expect(wrongPayload.checks.integrity.status).toBe('violated');
    expect(crashStatus(wrongPayload, false, report(1))).toBe('violated');
  });

  it('the reason names fsck, its exit codes and its last words', () => {
    expect(fsFailureReason(report(4, 1))).toMatch(/e2fsck -p -f \/dev\/x exit 4, then e2fsck -y -f \/dev\/x exit 1.*exit 1/);
  });

  it('a row and the run are fs-failed when no trial was violated but one lost data to the filesystem, violated wins', () => {
    const fsFailed = { strategy: 'fdatasync' as const, groupCommit: false, scenario: 'random-cut', status: 'fs-failed' as const, verdict: lost };
    const held = { ...fsFailed, status: 'held' as const, verdict: fine };
    const rows = summaryRows([fsFailed, held]);
    expect(rows[0]).toMatchObject({ fsFailedTrials: 1, violatedTrials: 0, verdict: 'fs-failed' });
    expect(runVerdict(rows)).toBe('fs-failed');
    expect(runVerdict(summaryRows([fsFailed, { ...fsFailed, status: 'violated' }]))).toBe('violated');
  });
});
