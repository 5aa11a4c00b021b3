import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { enumerateStates, StateMaterialiser, visibleMarks, closeLog, iterateEntries, LogIndex, openLog } from '../../src/dm/log-writes/index.js';
import { historyAtCrash, judgeCrash, type CrashVerdict } from '../../src/oracle/index.js';
import { payloadDigest, type Strategy, type WorkloadEvent } from '../../src/workload/events.js';
import { FIXTURES } from '../fixtures/log-writes/generate.js';

const here = join(import.meta.dirname, '../fixtures/log-writes');
const dir = mkdtempSync(join(tmpdir(), 'powercut-fixtures-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('committed synthetic log-writes fixtures', () => {
  it.each(Object.keys(FIXTURES))('%s equals its generator output', (name) => {
    expect(readFileSync(join(here, name)).equals(FIXTURES[name]!())).toBe(true);
  });

  it('the live-super fixture holds two entries by its super block and four in fact', () => {
    const log = openLog(join(here, 'synthetic-live-super.log'));
    try {
      expect([...iterateEntries(log)]).toHaveLength(2);
      expect([...iterateEntries(log, { beyondSuper: true })]).toHaveLength(4);
    } finally {
      closeLog(log);
    }
  });
});

// The loop the crash-point checker will run, with a toy "WAL" standing in for mount + recovery:
// seq k's payload sits at a fixed sector; recovery returns the contiguous run of intact payloads.
interface Layout {
  file: string;
  strategy: Strategy;
  payloadAt: (seq: number) => { sector: number; bytes: Buffer };
  script: WorkloadEvent[];
}

function toyRecover(image: Buffer, layout: Layout, maxSeq: number): { seq: number; payload: Uint8Array }[] {
  const recovered: { seq: number; payload: Uint8Array }[] = [];
  for (let seq = 1; seq <= maxSeq; seq++) {
    const { sector, bytes } = layout.payloadAt(seq);
    const found = image.subarray(sector * 512, sector * 512 + bytes.length);
    if (!found.equals(bytes)) break;
    recovered.push({ seq, payload: found });
  }
  return recovered;
}

function checkEveryState(layout: Layout): { verdicts: CrashVerdict[]; states: number } {
  const log = openLog(join(here, layout.file));
  const index = LogIndex.build(log);
  const materialiser = new StateMaterialiser(index, 64 * 512, dir);
  const image = join(dir, 'state.img');
  const verdicts: CrashVerdict[] = [];
  try {
    const mkfs = index.markEntries().find((m) => m.label === 'mkfs')?.index ?? -1;
    for (const state of enumerateStates(index, { after: mkfs })) {
      materialiser.materialise(state, image);
      const recovered = toyRecover(readFileSync(image), layout, 4);
      verdicts.push(judgeCrash({ history: historyAtCrash(layout.script, visibleMarks(index, state)), recovered }));
    }
    return { verdicts, states: verdicts.length };
  } finally {
    materialiser.close();
    closeLog(log);
  }
}

function script(strategy: Strategy, payloads: (seq: number) => Buffer, events: string): WorkloadEvent[] {
  const out: WorkloadEvent[] = [{ type: 'started', strategy, groupCommit: false, periodMs: strategy === 'periodic' ? 100 : null, pid: 1 }];
  for (const token of events.split(' ')) {
    const seq = Number(token.slice(1));
    if (token[0] === 'a') out.push({ type: 'appended', seq, digest: payloadDigest(payloads(seq)), size: payloads(seq).length });
    if (token[0] === 'k') out.push({ type: 'acked', seq });
    if (token[0] === 'd') out.push({ type: 'durable', seq });
  }
  return out;
}

describe('every crash state of a synthetic recording, judged by the oracle', () => {
  const fsyncPayload = (seq: number): Buffer => Buffer.alloc(1024, 0x40 + seq);
  const periodicPayload = (seq: number): Buffer => Buffer.alloc(512, 0x40 + seq);

  it('a WAL that flushes before acknowledging holds in every state', () => {
    const { verdicts, states } = checkEveryState({
      file: 'synthetic-fsync-acks.log',
      strategy: 'fsync',
      payloadAt: (seq) => ({ sector: 16 + seq * 2, bytes: fsyncPayload(seq) }),
      script: script('fsync', fsyncPayload, 'a1 k1 a2 k2 a3 k3 a4 k4'),
    });
    expect(states).toBeGreaterThan(10);
    expect(verdicts.filter((v) => v.status === 'violated')).toEqual([]);
  });

  it('periodic keeps its watermark promise, and some state loses acknowledged entries inside the window', () => {
    const layout: Layout = {
      file: 'synthetic-periodic-window.log',
      strategy: 'periodic',
      payloadAt: (seq) => ({ sector: 19 + seq, bytes: periodicPayload(seq) }),
      script: script('periodic', periodicPayload, 'a1 a2 k1 k2 d2 a3 a4 k3 k4'),
    };
    const { verdicts } = checkEveryState(layout);
    expect(verdicts.filter((v) => v.status === 'violated')).toEqual([]);
    expect(verdicts.some((v) => v.loss.ackedButLost > 0)).toBe(true);
  });

  it('the same recording judged as fsync (acknowledged before the flush) is caught', () => {
    const { verdicts } = checkEveryState({
      file: 'synthetic-periodic-window.log',
      strategy: 'fsync',
      payloadAt: (seq) => ({ sector: 19 + seq, bytes: periodicPayload(seq) }),
      script: script('fsync', periodicPayload, 'a1 a2 k1 k2 d2 a3 a4 k3 k4'),
    });
    const violated = verdicts.filter((v) => v.status === 'violated');
    expect(violated.length).toBeGreaterThan(0);
    expect(violated.every((v) => v.violated.includes('durability'))).toBe(true);
  });
});
