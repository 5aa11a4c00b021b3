import { describe, expect, it } from 'vitest';
import { formatTrialLine, parseProtocolLine, PROTOCOL_MARK } from '../../src/crash/reporter.js';
import type { WalTrialOutcome as TrialOutcome } from '../../src/crash/outcome.js';
import { replayCommand, trialIndices, type RunOptions } from '../../src/crash/options.js';
import { SCENARIOS } from '../../src/crash/plan/registry.js';
import { innerArgs } from '../../src/crash/vm-handoff.js';

const line: TrialOutcome = {
  mode: 'flakey',
  strategy: 'fdatasync',
  groupCommit: false,
  index: 2,
  scenario: 'truncate',
  trialSeed: 1234,
  status: 'violated',
  verdict: { loss: { appended: 10, acked: 8, recovered: 5, lost: 5, ackedButLost: 3, lostBeyondContract: 3 } } as TrialOutcome['verdict'],
  recovery: { status: 'recovered', entries: 5, corruption: null },
  timeline: [],
  durationMs: 5400,
  reasons: ['durability: 3 required entries missing (first: 6, 7, 8)'],
  notes: ['the WAL reported WAL_IO at seq 9'],
  artifactDir: '/tmp/a',
};
const at = { position: 3, total: 20 };

const options: RunOptions = {
  strategies: ['fsync', 'none'],
  groupCommit: false,
  scenarios: SCENARIOS,
  scenarioName: 'all',
  fs: 'xfs',
  trials: 7,
  seed: 42,
  onlyTrial: undefined,
  mode: 'flakey',
  artifactsRoot: '/work/results/crashtest',
  command: 'sudo pnpm crashtest --strategy fsync,none --fs xfs --trials 7 --seed 42',
  writerBundle: undefined,
};

describe('crashtest progress protocol', () => {
  it('round-trips every message through one console line, wherever the marker lands', () => {
    for (const message of [
      { kind: 'begin', total: 20 },
      { kind: 'trial', outcome: line, at },
      { kind: 'note', text: 'hello' },
    ] as const) {
      const text = `${PROTOCOL_MARK}${JSON.stringify(message)}`;
      expect(parseProtocolLine(text)).toEqual(message);
      expect(parseProtocolLine(`\r[ 12.3] noise ${text}`)).toEqual(message);
    }
    expect(parseProtocolLine('EXT4-fs (dm-0): mounted filesystem')).toBeNull();
    expect(parseProtocolLine(`${PROTOCOL_MARK}{"kind":"trial","outcome":{"strat`)).toBeNull();
    expect(parseProtocolLine(`${PROTOCOL_MARK}{"kind":"other"}`)).toBeNull();
  });

  it('prints a trial as one line with its figures, then its notes and artifacts', () => {
    const [head, ...rest] = formatTrialLine(line, at).split('\n');
    expect(head).toBe(
      '[ 3/20] fdatasync trial 2 truncate (seed 1234): VIOLATED: durability: 3 required entries missing (first: 6, 7, 8) | appended 10, acked 8, recovered 5, lost 5 (acked 3, beyond contract 3) | 5.4 s',
    );
    expect(rest).toEqual(['    note: the WAL reported WAL_IO at seq 9', '    artifacts: /tmp/a']);
  });
});

describe('run options', () => {
  it('hands the run inside the VM every resolved option, the seed included', () => {
    const args = innerArgs(options, '/r/results.json', '/d/writer-main.mjs');
    const value = (flag: string) => args[args.indexOf(flag) + 1];
    expect(value('--strategy')).toBe('fsync,none');
    expect(value('--seed')).toBe('42');
    expect(value('--fs')).toBe('xfs');
    expect(value('--trials')).toBe('7');
    expect(value('--scenario')).toBe('all');
    expect(value('--results-file')).toBe('/r/results.json');
    expect(value('--writer-bundle')).toBe('/d/writer-main.mjs');
    expect(value('--command')).toBe(options.command);
    expect(args).toContain('--in-vm');
    expect(args).not.toContain('--vm');
    expect(args).not.toContain('--group-commit');
    expect(innerArgs({ ...options, groupCommit: true, onlyTrial: 3 }, 'r', 'w')).toEqual(expect.arrayContaining(['--group-commit', '--trial', '3']));
  });

  it('replays one trial with the same seed and scenario selection', () => {
    expect(replayCommand(options, 'none', 5)).toBe('sudo pnpm crashtest --strategy none --scenario all --fs xfs --seed 42 --trial 5');
    expect(trialIndices(options)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(trialIndices({ ...options, onlyTrial: 5 })).toEqual([5]);
  });
});
