import { describe, expect, it } from 'vitest';
import { judgeTarget, targetReasons, type AckRecord, type CheckReport } from '../../src/oracle/target-verdict.js';
import { parsePromise, type Contract, type TargetPromise } from '../../src/targets/contract.js';
import { parseCheckOutput, parseProgramLine } from '../../src/targets/protocol.js';

// The target oracle (issue 14) on hand-made histories: each promise's required set, stale values,
// phantoms, and damage that a contract does or does not allow.

const contract = (promise: TargetPromise, mayCorrupt = false): Contract => ({ promise, mayCorrupt, says: 'test', cite: 'test' });
const ack = (key: string, digest: string, atMs: number): AckRecord => ({ key, digest, atMs });
const intact = (entries: [string, string][]): CheckReport => ({ status: 'intact', message: null, survivors: new Map(entries) });

describe('judgeTarget', () => {
  const acks = [ack('a', '1', 100), ack('b', '2', 200), ack('c', '3', 900)];

  it('holds when every acknowledged key survives with its value', () => {
    const v = judgeTarget({
      acks,
      intents: [],
      cutAtMs: 1000,
      contract: contract({ kind: 'durable' }),
      check: intact([
        ['a', '1'],
        ['b', '2'],
        ['c', '3'],
      ]),
    });
    expect(v.status).toBe('held');
    expect(v.loss).toMatchObject({ acked: 3, survived: 3, ackedButLost: 0, phantoms: 0 });
  });

  it('durable: a lost acknowledged key is a violation, with the key as evidence', () => {
    const v = judgeTarget({
      acks,
      intents: [],
      cutAtMs: 1000,
      contract: contract({ kind: 'durable' }),
      check: intact([
        ['a', '1'],
        ['b', '2'],
      ]),
    });
    expect(v.violated).toEqual(['durability']);
    expect(v.evidence.lostBeyondContract).toEqual(['c']);
    expect(targetReasons(v)[0]).toContain('1 acknowledged keys lost beyond the contract (c)');
  });

  it('window: loss inside the window is allowed, before it is not', () => {
    const w = contract({ kind: 'window', ms: 500 });
    const inside = judgeTarget({
      acks,
      intents: [],
      cutAtMs: 1000,
      contract: w,
      check: intact([
        ['a', '1'],
        ['b', '2'],
      ]),
    });
    expect(inside.status).toBe('held');
    expect(inside.loss.allowedLoss).toBe(1);
    const before = judgeTarget({ acks, intents: [], cutAtMs: 1000, contract: w, check: intact([['c', '3']]) });
    expect(before.evidence.lostBeyondContract.sort()).toEqual(['a', 'b']);
  });

  it('last:N: only the last N acknowledgements may roll back', () => {
    const v = judgeTarget({ acks, intents: [], cutAtMs: 1000, contract: contract({ kind: 'last', n: 1 }), check: intact([['a', '1']]) });
    expect(v.evidence.lostBeyondContract).toEqual(['b']);
    expect(v.evidence.allowedLoss).toEqual(['c']);
  });

  it('none: every loss is allowed loss, and counted', () => {
    const v = judgeTarget({ acks, intents: [], cutAtMs: 1000, contract: contract({ kind: 'none' }), check: intact([]) });
    expect(v.status).toBe('held');
    expect(v.loss).toMatchObject({ ackedButLost: 3, allowedLoss: 3, lostBeyondContract: 0 });
  });

  it('an older acknowledged value where a newer one was acknowledged is loss; an announced newer one is not', () => {
    const over = [ack('a', '1', 100), ack('a', '2', 200)];
    const stale = judgeTarget({ acks: over, intents: [], cutAtMs: 1000, contract: contract({ kind: 'durable' }), check: intact([['a', '1']]) });
    expect(stale.evidence.lostBeyondContract).toEqual(['a']);
    const inFlight = judgeTarget({
      acks: over,
      intents: [
        { key: 'a', digest: '1' },
        { key: 'a', digest: '2' },
        { key: 'a', digest: '3' },
      ],
      cutAtMs: 1000,
      contract: contract({ kind: 'durable' }),
      check: intact([['a', '3']]),
    });
    expect(inFlight.status).toBe('held');
  });

  it('a value never written is a phantom; an unannounced key is one only when the program announces', () => {
    const wrong = judgeTarget({ acks, intents: [], cutAtMs: 1000, contract: contract({ kind: 'none' }), check: intact([['a', 'x']]) });
    expect(wrong.violated).toEqual(['phantom']);
    const unknown = judgeTarget({ acks, intents: [], cutAtMs: 1000, contract: contract({ kind: 'none' }), check: intact([['z', '9']]) });
    expect(unknown.status).toBe('held');
    expect(unknown.loss.unknownSurvivors).toBe(1);
    const announced = judgeTarget({
      acks,
      intents: [{ key: 'a', digest: '1' }],
      cutAtMs: 1000,
      contract: contract({ kind: 'none' }),
      check: intact([['z', '9']]),
    });
    expect(announced.evidence.phantoms).toEqual(['z']);
  });

  it('damage is a violation unless the contract allows it', () => {
    const check: CheckReport = { status: 'damaged', message: 'no meta-nextfile entry in descriptor', survivors: new Map() };
    const strict = judgeTarget({ acks, intents: [], cutAtMs: 1000, contract: contract({ kind: 'none' }), check });
    expect(strict.violated).toEqual(['integrity']);
    expect(strict.corruption).toContain('meta-nextfile');
    const allowed = judgeTarget({ acks, intents: [], cutAtMs: 1000, contract: contract({ kind: 'none' }, true), check });
    expect(allowed.status).toBe('held');
    expect(allowed.corruption).not.toBeNull();
  });
});

describe('target protocol lines', () => {
  it('parses acks, announcements, and refuses anything else', () => {
    expect(parseProgramLine('k1 abc')).toEqual({ kind: 'ack', key: 'k1', digest: 'abc' });
    expect(parseProgramLine('~ k1 abc')).toEqual({ kind: 'intent', key: 'k1', digest: 'abc' });
    expect(parseProgramLine('   ')).toBeNull();
    expect(parseProgramLine('only-a-key')).toHaveProperty('error');
    expect(parseProgramLine('a b c')).toHaveProperty('error');
  });

  it('parses check output, naming the first bad line', () => {
    const ok = parseCheckOutput('a 1\n\nb 2\n');
    expect(ok.ok && [...ok.survivors]).toEqual([
      ['a', '1'],
      ['b', '2'],
    ]);
    const bad = parseCheckOutput('a 1\nError: cannot open\n');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.message).toContain('Error: cannot open');
  });

  it('parses promises', () => {
    expect(parsePromise('durable')).toEqual({ ok: true, promise: { kind: 'durable' } });
    expect(parsePromise('window:250')).toEqual({ ok: true, promise: { kind: 'window', ms: 250 } });
    expect(parsePromise('last:1')).toEqual({ ok: true, promise: { kind: 'last', n: 1 } });
    expect(parsePromise('last:0').ok).toBe(false);
    expect(parsePromise('soon').ok).toBe(false);
  });
});

describe('target registry', () => {
  it('every built-in setting cites its documentation', async () => {
    const { BUILTIN_TARGETS } = await import('../../src/targets/registry.js');
    for (const t of BUILTIN_TARGETS)
      for (const s of t.settings) {
        expect(s.contract.cite, `${t.name} ${s.name}`).toMatch(/^https:\/\//);
        expect(s.contract.says.length, `${t.name} ${s.name}`).toBeGreaterThan(10);
      }
    expect(BUILTIN_TARGETS.find((t) => t.name === 'sqlite')?.settings).toHaveLength(12);
  });
});

describe('exec --devices', () => {
  it('2 gives the setting a second device and carries over to the VM and the replay command; anything but 1 or 2 is refused', async () => {
    const { selectTarget } = await import('../../src/targets/registry.js');
    const { innerArgs } = await import('../../src/crash/vm-handoff.js');
    const { targetReplayCommand } = await import('../../src/crash/target/mode.js');
    const two = selectTarget({ target: 'exec', run: 'r', check: 'c', devices: '2' });
    expect(two.settings.map((s) => [s.name, s.devices])).toEqual([['durable.two-devices', 2]]);
    expect(two.exec).toEqual({ run: 'r', check: 'c', promise: 'durable', devices: '2' });
    const one = selectTarget({ target: 'exec', run: 'r', check: 'c', devices: '1' });
    expect(one.settings.map((s) => [s.name, s.devices])).toEqual([['durable', undefined]]);
    expect(one.exec).toEqual({ run: 'r', check: 'c', promise: 'durable' });
    expect(() => selectTarget({ target: 'exec', run: 'r', check: 'c', devices: '3' })).toThrow(/--devices 3: 1 or 2/);
    expect(() => selectTarget({ target: 'sqlite', devices: '2' })).toThrow(/--devices goes with --target exec/);
    const { runOptions } = await import('../../src/cli/target-command.js');
    const options = runOptions({ target: 'exec', run: 'r', check: 'c', devices: '2', scenario: 'all', fs: 'ext4', seed: 14, trials: 1 }, two, []);
    expect(innerArgs(options, '/tmp/r.json', '/tmp/w.mjs').join(' ')).toContain('--promise durable --devices 2');
    expect(targetReplayCommand(options, 'durable.two-devices', 0)).toContain('--promise durable --devices 2 --fs ext4');
  });
});
