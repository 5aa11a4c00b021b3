import { describe, expect, it, vi } from 'vitest';
import type { RunOptions } from '../../src/crash/options.js';
import type { RunResults } from '../../src/crash/results.js';

// runDefaultChecks with stopAtViolation (the self-test's planted runs): the checks after the
// first violated one are left out and named in notRun; a user's run (no option) makes them all.
// The modes are replaced by stubs that return a verdict per check; no device is touched.

const verdicts: Record<string, RunResults['verdict']> = {};
const ran: string[] = [];

vi.mock('../../src/crash/placement.js', () => ({ choosePlacement: async () => ({ where: 'host' }), requireRoot: () => undefined }));
vi.mock('../../src/crash/modes.js', () => ({
  runMode: async (options: RunOptions): Promise<RunResults> => {
    ran.push(options.mode);
    const verdict = verdicts[options.mode] ?? 'held';
    return {
      format: 'powercut-crashtest-v1',
      startedAt: '',
      durationMs: 1,
      mode: options.mode,
      fs: 'ext4',
      seed: 1,
      command: '',
      kernel: { release: 'x', inVm: false },
      trials: [],
      errors: [],
      rows: [],
      verdict,
    };
  },
}));

const { defaultRunOptions, runDefaultChecks } = await import('../../src/crash/default-run.js');
const quiet = { begin: () => undefined, trial: () => undefined, note: () => undefined, end: () => undefined };

async function runWith(v: Record<string, RunResults['verdict']>, stopAtViolation?: boolean) {
  ran.length = 0;
  for (const k of Object.keys(verdicts)) delete verdicts[k];
  Object.assign(verdicts, v);
  return runDefaultChecks({ ...defaultRunOptions('fdatasync', { seed: 1 }), ...(stopAtViolation === undefined ? {} : { stopAtViolation }) }, quiet);
}

describe('runDefaultChecks, stopping at the first violated check', () => {
  it('leaves log-writes out when flakey was violated, and says so', async () => {
    const r = await runWith({ flakey: 'violated' }, true);
    expect(ran).toEqual(['flakey']);
    expect(r.notRun).toEqual(['log-writes']);
    expect(r.verdict).toBe('violated');
  });

  it('goes on to log-writes when flakey held', async () => {
    const r = await runWith({ 'log-writes': 'violated' }, true);
    expect(ran).toEqual(['flakey', 'log-writes']);
    expect(r.notRun).toEqual([]);
    expect(r.checks.map((c) => c.verdict)).toEqual(['held', 'violated']);
  });

  it('without the option makes every check even after a violation', async () => {
    const r = await runWith({ flakey: 'violated' });
    expect(ran).toEqual(['flakey', 'log-writes']);
    expect(r.notRun).toEqual([]);
  });
});
