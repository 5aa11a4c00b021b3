import { closeSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { closeLog, openLog, createZeroImage, Replayer, replayToImage } from '../../src/dm/log-writes/index.js';
import { FLUSH, FUA, SyntheticLog } from '../fixtures/log-writes/synthetic-log.js';

const dir = mkdtempSync(join(tmpdir(), 'powercut-lw-replay-prop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DEVICE_SECTORS = 32;
type Op =
  | { op: 'write'; sector: number; sectors: number; byte: number; flags: number }
  | { op: 'discard'; sector: number; sectors: number }
  | { op: 'flush' }
  | { op: 'mark' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('write' as const),
      sector: fc.nat(DEVICE_SECTORS - 4),
      sectors: fc.integer({ min: 1, max: 4 }),
      byte: fc.integer({ min: 1, max: 255 }),
      flags: fc.constantFrom(0, 0, FUA, FLUSH | FUA),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('discard' as const), sector: fc.nat(DEVICE_SECTORS - 4), sectors: fc.integer({ min: 1, max: 8 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'flush' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'mark' as const }) },
);

function build(ops: Op[]): Buffer {
  const log = new SyntheticLog(512);
  ops.forEach((op, i) => {
    if (op.op === 'write') log.fill(op.sector, op.sectors, op.byte, op.flags);
    else if (op.op === 'discard') log.discard(op.sector, op.sectors);
    else if (op.op === 'flush') log.flush();
    else log.mark(`m${i}`);
  });
  return log.toBuffer();
}

/** The reference: the device after the first n ops, computed in memory. */
function model(ops: Op[], n: number): Buffer {
  const device = Buffer.alloc(DEVICE_SECTORS * 512);
  for (const op of ops.slice(0, n)) {
    if (op.op === 'write') device.fill(op.byte, op.sector * 512, (op.sector + op.sectors) * 512);
    if (op.op === 'discard') device.fill(0, op.sector * 512, Math.min(op.sector + op.sectors, DEVICE_SECTORS) * 512);
  }
  return device;
}

let counter = 0;

describe('dm-log-writes replay (property)', () => {
  it('incremental forward replay equals replay from scratch and the in-memory model at every point', () => {
    fc.assert(
      fc.property(
        fc
          .array(opArb, { minLength: 1, maxLength: 25 })
          .chain((ops) => fc.tuple(fc.constant(ops), fc.uniqueArray(fc.nat(ops.length - 1), { minLength: 1, maxLength: 5 }))),
        ([ops, points]) => {
          const logPath = join(dir, `log-${counter}`);
          writeFileSync(logPath, build(ops));
          const log = openLog(logPath);
          const incremental = join(dir, `inc-${counter}`);
          const scratch = join(dir, `scratch-${counter++}`);
          const fd = createZeroImage(incremental, DEVICE_SECTORS * 512);
          try {
            const replayer = new Replayer(log, fd);
            for (const n of [...points].sort((a, b) => a - b)) {
              replayer.replayTo({ kind: 'entry', n });
              replayToImage(log, scratch, { kind: 'entry', n }, { sizeBytes: DEVICE_SECTORS * 512 });
              const expected = model(ops, n + 1);
              expect(readFileSync(incremental).equals(expected)).toBe(true);
              expect(readFileSync(scratch).equals(expected)).toBe(true);
            }
          } finally {
            closeSync(fd);
            closeLog(log);
            rmSync(logPath);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
