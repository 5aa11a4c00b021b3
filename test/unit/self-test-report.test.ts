import { describe, expect, it } from 'vitest';
import {
  ciReport,
  cleanRow,
  formatSelfTestTable,
  formatSelfTestVerdict,
  plantRow,
  selfTestExitCode,
  type CheckSummary,
  type JobOutcome,
} from '../../src/crash/self-test/report.js';
import type { Plant } from '../../src/crash/self-test/plants.js';

const plant: Plant = { name: 'ack-before-sync', class: 'acknowledgement before its sync', strategy: 'fdatasync', groupCommit: false };
const groupPlant: Plant = { name: 'group-ack-before-sync', class: 'acknowledgement before its sync (group commit)', strategy: 'fdatasync', groupCommit: true };
const clean = { strategies: ['fdatasync' as const, 'periodic' as const], groupCommit: false };

const held = (check: CheckSummary['check']): CheckSummary => ({ check, verdict: 'held', trials: 8, durationMs: 60_000, firstViolated: null, errors: [] });
const violated = (check: CheckSummary['check'], scenario: string): CheckSummary => ({
  check,
  verdict: 'violated',
  trials: 8,
  durationMs: 120_000,
  firstViolated: { strategy: 'fdatasync', scenario, index: 3, reasons: ['acked 5 lost'] },
  errors: [],
});
const unjudged = (check: CheckSummary['check']): CheckSummary => ({
  ...held(check),
  verdict: 'error',
  errors: ['fdatasync trial 2 (truncate): the recording failed: the writer exited with 1'],
});
const finished = (checks: CheckSummary[], notRun: CheckSummary['check'][] = []): JobOutcome => ({
  status: 'finished',
  verdict: (['violated', 'crash-not-real', 'error'] as const).find((v) => checks.some((c) => c.verdict === v)) ?? 'held',
  checks,
  notRun,
  durationMs: checks.reduce((t, c) => t + c.durationMs, 0),
});
const error: JobOutcome = { status: 'error', message: 'the microVM failed: timeout', durationMs: 5000 };

describe('a plant row', () => {
  it('is caught by the first violated check, and says which check was not needed', () => {
    const row = plantRow(plant, finished([violated('flakey', 'second-life')], ['log-writes']));
    expect(row).toMatchObject({ status: 'caught', by: { check: 'flakey' }, notRun: ['log-writes'] });
    const table = formatSelfTestTable([row]);
    expect(table).toContain('caught by flakey (first: second-life, trial 3); log-writes not needed');
    expect(table).toContain('2.0 min');
  });

  it('is caught by log-writes when the power cuts held', () => {
    const row = plantRow(plant, finished([held('flakey'), violated('log-writes', 'busy-sync')]));
    expect(row).toMatchObject({ status: 'caught', by: { check: 'log-writes' } });
    expect(formatSelfTestTable([row])).toContain('caught by log-writes (first: busy-sync, trial 3)');
  });

  it('is missed when every check held, and when a periodic run never lost anything (crash-not-real)', () => {
    expect(plantRow(plant, finished([held('flakey'), held('log-writes')])).status).toBe('missed');
    expect(plantRow(plant, finished([{ ...held('flakey'), verdict: 'crash-not-real' }, held('log-writes')])).status).toBe('missed');
    expect(formatSelfTestTable([plantRow(plant, finished([held('flakey'), held('log-writes')]))])).toContain(
      'MISSED: flakey held (8 trials, 1.0 min), log-writes held',
    );
  });

  it('is caught by a violation even when another recording of the check could not be judged', () => {
    const row = plantRow(plant, finished([held('flakey'), { ...violated('log-writes', 'random-cut'), errors: unjudged('log-writes').errors }]));
    expect(row).toMatchObject({ status: 'caught', by: { check: 'log-writes' } });
  });

  it('is an error, not missed, when nothing was violated and a recording could not be judged', () => {
    const row = plantRow(plant, finished([held('flakey'), unjudged('log-writes')]));
    expect(row).toMatchObject({ status: 'error' });
    expect(formatSelfTestTable([row])).toContain(
      'ERROR (no verdict): 1 trial(s) could not be judged, nothing was violated: log-writes fdatasync trial 2 (truncate)',
    );
  });

  it('is an error (no verdict) when its run could not be made', () => {
    expect(plantRow(plant, error)).toMatchObject({ status: 'error', message: 'the microVM failed: timeout' });
  });

  it('names its strategy with the group-commit label', () => {
    expect(formatSelfTestTable([plantRow(groupPlant, finished([violated('log-writes', 'busy-sync')]))])).toContain('fdatasync+group');
  });
});

describe('a clean row', () => {
  it('holds only when every check held; crash-not-real does not hold', () => {
    expect(cleanRow(clean, finished([held('flakey'), held('log-writes')])).status).toBe('held');
    expect(cleanRow(clean, finished([{ ...held('flakey'), verdict: 'crash-not-real' }, held('log-writes')])).status).toBe('not-held');
    const row = cleanRow(clean, finished([violated('flakey', 'truncate'), held('log-writes')]));
    expect(row.status).toBe('not-held');
    expect(formatSelfTestTable([row])).toContain('NOT HELD (violated)');
    expect(formatSelfTestTable([row])).toContain('fdatasync,periodic');
  });

  it('has no verdict (error), not a failure, when nothing was violated but a recording could not be judged', () => {
    expect(cleanRow(clean, finished([held('flakey'), unjudged('log-writes')]))).toMatchObject({ status: 'error' });
    expect(cleanRow(clean, finished([violated('flakey', 'truncate'), unjudged('log-writes')])).status).toBe('not-held');
  });
});

describe('the exit status', () => {
  const caught = plantRow(plant, finished([violated('flakey', 'random-cut')], ['log-writes']));
  const missed = plantRow(plant, finished([held('flakey'), held('log-writes')]));
  const cleanHeld = cleanRow(clean, finished([held('flakey'), held('log-writes')]));
  const cleanViolated = cleanRow(clean, finished([violated('flakey', 'truncate')]));

  it('0 only when every plant is caught and the clean build held', () => {
    expect(selfTestExitCode([caught, cleanHeld])).toBe(0);
  });

  it('1 when a plant is missed or the clean build did not hold, even beside an error', () => {
    expect(selfTestExitCode([missed, cleanHeld])).toBe(1);
    expect(selfTestExitCode([caught, cleanViolated])).toBe(1);
    expect(selfTestExitCode([missed, plantRow(plant, error), cleanHeld])).toBe(1);
  });

  it('2 when some row has no verdict and nothing failed, or nothing ran', () => {
    expect(selfTestExitCode([caught, cleanRow(clean, error)])).toBe(2);
    expect(selfTestExitCode([])).toBe(2);
  });

  it('the closing line and the CI report agree with it: a test per row, passed when caught or held', () => {
    expect(formatSelfTestVerdict([caught, cleanHeld], 600_000)).toBe('self-test PASSED: 1 of 1 planted bugs caught, clean build held (10.0 min wall)');
    expect(formatSelfTestVerdict([missed, cleanHeld], 600_000)).toMatch(/^self-test FAILED: 0 of 1/);
    expect(ciReport([caught, cleanHeld], 1)).toMatchObject({ numPassedTests: 2, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0, success: true });
    expect(ciReport([caught, cleanRow(clean, error)], 1)).toMatchObject({ numPassedTests: 1, numFailedTests: 1, success: false });
    expect(ciReport([missed, cleanHeld], 1)).toMatchObject({ numPassedTests: 1, numFailedTests: 1, success: false });
    expect(ciReport([], 1)).toMatchObject({ numPassedTests: 0, numFailedTests: 1, success: false });
  });
});
