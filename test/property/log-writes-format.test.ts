import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { closeLog, iterateEntries, LogWritesError, openLog } from '../../src/dm/log-writes/index.js';
import { DISCARD, FLUSH, FUA, MARK, METADATA, SyntheticLog } from '../fixtures/log-writes/synthetic-log.js';

const dir = mkdtempSync(join(tmpdir(), 'powercut-lw-format-prop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

type Spec =
  | { kind: 'write'; sector: number; sectors: number; flags: number }
  | { kind: 'discard'; sector: number; sectors: number }
  | { kind: 'flush' }
  | { kind: 'mark'; label: string };

const specArb: fc.Arbitrary<Spec> = fc.oneof(
  fc.record({
    kind: fc.constant('write' as const),
    sector: fc.nat(1 << 20),
    sectors: fc.integer({ min: 1, max: 3 }),
    flags: fc.constantFrom(0, FUA, FLUSH, FLUSH | FUA, METADATA, FUA | METADATA),
  }),
  fc.record({ kind: fc.constant('discard' as const), sector: fc.nat(1 << 20), sectors: fc.integer({ min: 1, max: 1 << 16 }) }),
  fc.constant({ kind: 'flush' as const }),
  fc.record({ kind: fc.constant('mark' as const), label: fc.stringMatching(/^[a-z0-9-]{0,40}$/) }),
);

function parse(bytes: Buffer) {
  const path = join(dir, `log-${counter++}`);
  writeFileSync(path, bytes);
  const log = openLog(path);
  try {
    return [...iterateEntries(log, { beyondSuper: true })];
  } finally {
    closeLog(log);
    rmSync(path);
  }
}

describe('dm-log-writes parser (property)', () => {
  it('reads back exactly the entries a log was built from, for 512 and 4096-byte sectors', () => {
    fc.assert(
      fc.property(fc.constantFrom(512, 4096), fc.array(specArb, { maxLength: 12 }), (sectorSize, specs) => {
        const log = new SyntheticLog(sectorSize);
        for (const spec of specs) {
          if (spec.kind === 'write') log.fill(spec.sector, spec.sectors, 1, spec.flags);
          else if (spec.kind === 'discard') log.discard(spec.sector, spec.sectors);
          else if (spec.kind === 'flush') log.flush();
          else log.mark(spec.label);
        }
        const entries = parse(log.toBuffer());
        expect(entries.map((e) => [e.sector, e.nrSectors, e.flags, e.mark])).toEqual(
          specs.map((s) => {
            if (s.kind === 'write') return [s.sector, s.sectors, s.flags, null];
            if (s.kind === 'discard') return [s.sector, s.sectors, DISCARD, null];
            if (s.kind === 'flush') return [0, 0, FLUSH, null];
            return [0, 0, MARK, s.label];
          }),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('on corrupted or cut logs, fails only with a LogWritesError naming where', () => {
    fc.assert(
      fc.property(
        fc.array(specArb, { minLength: 1, maxLength: 6 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.option(fc.nat(), { nil: undefined }),
        (specs, flips, cut) => {
          const log = new SyntheticLog(512);
          for (const spec of specs) {
            if (spec.kind === 'write') log.fill(spec.sector, spec.sectors, 1, spec.flags);
            else if (spec.kind === 'discard') log.discard(spec.sector, spec.sectors);
            else if (spec.kind === 'flush') log.flush();
            else log.mark(spec.label);
          }
          let bytes = log.toBuffer();
          for (const [at, value] of flips) bytes[at % bytes.length] = value;
          if (cut !== undefined) bytes = bytes.subarray(0, cut % (bytes.length + 1));
          try {
            parse(bytes);
          } catch (error) {
            expect(error).toBeInstanceOf(LogWritesError);
            const e = error as LogWritesError;
            expect(e.message).toMatch(/log-\d+/);
            if (e.entryIndex !== undefined) expect(e.message).toMatch(new RegExp(`entry ${e.entryIndex} at byte ${e.offset}`));
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
