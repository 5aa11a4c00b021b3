import { describe, expect, it, vi } from 'vitest';
import type { RecordSpec } from '../../src/crash/record/session.js';
import { judgeCrash } from '../../src/oracle/index.js';
import { CrashError } from '../../src/crash/crash-error.js';

// runLogWritesMode when a recording fails or its states cannot be judged: that trial is an error
// with its reason, the other recordings are still checked, and the run's verdict is 'error' only
// when nothing was violated. recordAll and checkRecording are stubs; no device is touched.

const failName = new Set<string>();
const unjudgedName = new Set<string>();

vi.mock('../../src/crash/record/record-all.js', () => ({
  recordAll: async (specs: readonly RecordSpec[]) => ({
    placement: { where: 'host' },
    wallMs: 10,
    outcomes: specs.map((s) =>
      failName.has(s.name) ? { status: 'failed', name: s.name, message: 'the writer exited with 1' } : { status: 'recorded', meta: { kernel: 'test' } },
    ),
  }),
}));
vi.mock('../../src/crash/explore/check-states.js', () => ({
  checkRecording: async (dir: string) => {
    const name = dir.split('/').at(-1) ?? '';
    if (unjudgedName.has(name)) throw new CrashError('BAD_RECORDING', `${name}: the log does not parse`);
    const verdict = judgeCrash({ history: [{ type: 'started', strategy: 'fdatasync', groupCommit: false, periodMs: null, pid: 1 }], recovered: [] });
    const state = {
      id: 's0',
      kind: 'prefix',
      marksVisible: 1,
      lastMark: 'mkfs',
      status: 'held',
      reasons: [],
      verdict,
      recovery: { status: 'recovered', entries: 0, corruption: null },
    };
    return {
      meta: { entries: 10, marks: 1 },
      coverage: null,
      checked: 1,
      violatedStates: 0,
      unmountableStates: 0,
      unmountable: [],
      secondLives: 0,
      violations: [],
      representative: state,
      timings: { totalMs: 1 },
      statesPerSecond: 1,
    };
  },
}));

const { runLogWritesMode } = await import('../../src/crash/record/mode.js');
const { SCENARIOS } = await import('../../src/crash/plan/registry.js');
const { recordableScenarios } = await import('../../src/crash/plan/recordable.js');
const notes: string[] = [];
const reporter = { begin: () => undefined, trial: () => undefined, note: (t: string) => notes.push(t), end: () => undefined };
const options = {
  strategies: ['fdatasync' as const],
  groupCommit: false,
  scenarios: SCENARIOS,
  scenarioName: 'all',
  fs: 'ext4' as const,
  seed: 7,
  onlyTrial: undefined,
  mode: 'log-writes' as const,
  trials: 3,
  artifactsRoot: '/nonexistent',
  command: 'test',
  writerBundle: undefined,
};

describe('runLogWritesMode with a recording that failed', () => {
  it('reports it as an error with its reason and still checks the others', async () => {
    expect(recordableScenarios(options).length).toBeGreaterThan(1);
    failName.add('fdatasync-trial-1');
    const r = await runLogWritesMode(options, reporter, false);
    expect(r.trials.map((t) => t.index)).toEqual([0, 2]);
    expect(r.errors).toMatchObject([{ index: 1, reason: 'the recording failed: the writer exited with 1' }]);
    expect(r.verdict).toBe('error');
    expect(notes.some((n) => n.startsWith('ERROR fdatasync-trial-1'))).toBe(true);
  });

  it('counts a recording whose states could not be judged as an error too', async () => {
    failName.clear();
    unjudgedName.add('fdatasync-trial-0');
    const r = await runLogWritesMode(options, reporter, false);
    expect(r.trials.map((t) => t.index)).toEqual([1, 2]);
    expect(r.errors[0]?.reason).toContain('the log does not parse');
    expect(r.verdict).toBe('error');
  });
});
