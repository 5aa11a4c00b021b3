import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRecording } from '../../src/crash/explore/check-states.js';
import { checkOneState } from '../../src/crash/explore/fuzz.js';
import { readRecordingMeta } from '../../src/crash/record/session.js';

// Real recordings made in the microVM (test/fixtures/recordings/README.md), checked here without
// device-mapper: states materialised, loop-mounted (ext4 replays its journal), the WAL recovered
// and judged against the history cut at each state's visible marks. Mounting needs root.

const fixtures = join(import.meta.dirname, '../fixtures/recordings');
const why = process.getuid?.() !== 0 ? 'requires root (loop mounts)' : undefined;

describe.skipIf(why !== undefined)(`crash states of real recordings${why ? ` (skipped: ${why})` : ''}`, () => {
  it('fdatasync holds in every persistence point and in the first volatile-cache states', async () => {
    const dir = join(fixtures, 'ext4-fdatasync');
    const prefix = await checkRecording(dir, { enumerate: { prefixOnly: true } });
    expect(prefix.checked).toBeGreaterThan(5);
    expect(prefix.violations).toEqual([]);
    expect(prefix.unmountableStates).toBe(0);
    // States with acknowledgements visible were judged (the marks tie the history to the log).
    expect(prefix.representative!.verdict.loss.acked).toBeGreaterThan(0);
    const volatile = await checkRecording(dir, { maxStates: 40 });
    expect(volatile.checked).toBe(40);
    expect(volatile.violations).toEqual([]);
  }, 120_000);

  it('catches the writer that runs strategy none but claims fsync: acknowledged entries missing', async () => {
    const dir = join(fixtures, 'ext4-none-claims-fsync');
    const meta = readRecordingMeta(dir);
    expect(meta.writer.strategy).toBe('none');
    expect(meta.spec.claimStrategy).toBe('fsync');
    const report = await checkRecording(dir, { enumerate: { prefixOnly: true } });
    expect(report.violatedStates).toBeGreaterThan(0);
    const first = report.violations[0]!;
    expect(first.verdict.violated).toContain('durability');
    expect(first.verdict.loss.ackedButLost).toBeGreaterThan(0);
    // The state named in the report is checked the same way on its own (the printed command).
    const again = await checkOneState(dir, first.id);
    expect(again.status).toBe('violated');
  }, 120_000);

  it('states get a second life (recover, append with fdatasync, remount, recover again) and a correct WAL holds in it', async () => {
    const lives: string[] = [];
    const report = await checkRecording(join(fixtures, 'ext4-fdatasync'), {
      maxStates: 30,
      onState: (s) => s.status !== 'unmountable' && s.secondLife && lives.push(s.secondLife),
    });
    expect(report.secondLives).toBeGreaterThan(0);
    expect(lives.length).toBe(report.secondLives);
    expect(lives.every((l) => l === 'held')).toBe(true);
    expect(report.violations).toEqual([]);
    const off = await checkRecording(join(fixtures, 'ext4-fdatasync'), { maxStates: 5, secondLife: 'off' });
    expect(off.secondLives).toBe(0);
  }, 180_000);

  it('periodic holds: nothing below a marked durable watermark is lost', async () => {
    const report = await checkRecording(join(fixtures, 'ext4-periodic'), { enumerate: { prefixOnly: true } });
    expect(report.checked).toBeGreaterThan(5);
    expect(report.violations).toEqual([]);
  }, 120_000);

  it('marks sent through dmsetup give a recording that checks the same way', async () => {
    const dir = join(fixtures, 'ext4-fsync-dmsetup-marks');
    expect(readRecordingMeta(dir).markStats.method).toBe('dmsetup');
    let mostMarks = 0;
    let recoveredAtEnd = -1;
    const report = await checkRecording(dir, {
      enumerate: { prefixOnly: true },
      onState: (s) => {
        if (s.marksVisible >= mostMarks && s.status !== 'unmountable') {
          mostMarks = s.marksVisible;
          recoveredAtEnd = s.recovery.entries;
        }
      },
    });
    expect(report.violations).toEqual([]);
    // The last state sees every mark (mkfs, each promise, end) and recovers every append.
    expect(mostMarks).toBe(report.meta.marks);
    expect(recoveredAtEnd).toBe(report.meta.writer.maxEntries);
  }, 120_000);
});
