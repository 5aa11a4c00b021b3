import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/crash/bundle.js';
import { OpenRecording } from '../../src/crash/explore/check-states.js';
import { recordAll } from '../../src/crash/record/record-all.js';
import type { RecordSpec } from '../../src/crash/record/session.js';
import { hasFlag, LogFlag } from '../../src/dm/log-writes/index.js';
import { markLabel } from '../../src/workload/events.js';
import { dmUnavailable } from './dm-precondition.js';

// Recording for real on dm-log-writes (inside the microVM): the bundled writer puts one mark per
// promise into the log, through the DM_TARGET_MSG ioctl and through dmsetup, and the recording
// reads back on its own. The mark costs of both are printed: they are the figures the README cites.

const why = await dmUnavailable(['log-writes']);
mkdirSync(join(PROJECT_ROOT, 'results'), { recursive: true });
const outRoot = mkdtempSync(join(PROJECT_ROOT, 'results', '.it-record-'));
afterAll(() => rmSync(outRoot, { recursive: true, force: true }));

const spec = (name: string, markMethod: RecordSpec['markMethod']): RecordSpec => ({
  name,
  strategy: 'fdatasync',
  groupCommit: false,
  claimStrategy: null,
  fs: 'ext4',
  seed: 5,
  scenario: 'integration',
  markMethod,
  workload: { maxEntries: 6, writers: 2, segmentSize: 65536, minPayload: 100, maxPayload: 3000 },
});

describe.skipIf(why !== undefined)(`recording the writer on dm-log-writes${why ? ` (skipped: ${why})` : ''}`, () => {
  it('marks every promise after mkfs, by ioctl and by dmsetup, and the ioctl is the cheaper', async () => {
    const { outcomes } = await recordAll([spec('ioctl', 'ioctl'), spec('dmsetup', 'dmsetup')], outRoot);
    const means: Record<string, number> = {};
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('recorded');
      if (outcome.status !== 'recorded') continue;
      const rec = new OpenRecording(join(outRoot, outcome.meta.spec.name));
      try {
        const marks = rec.index.markEntries();
        const labels = marks.map((m) => m.label);
        const promised = rec.history.map(markLabel).filter((l): l is string => l !== null);
        expect(labels).toEqual(['mkfs', ...promised, 'end']);
        expect(promised.filter((l) => l.startsWith('ack-'))).toHaveLength(6);
        // fdatasync: before each ack's mark the log holds a FLUSH or FUA after the mkfs mark.
        const mkfs = marks[0]!.index;
        const firstAck = marks.find((m) => m.label.startsWith('ack-'))!.index;
        let synced = false;
        for (let i = mkfs + 1; i < firstAck; i++)
          synced ||= hasFlag({ flags: rec.index.flags(i) }, LogFlag.FLUSH) || hasFlag({ flags: rec.index.flags(i) }, LogFlag.FUA);
        expect(synced).toBe(true);
        const s = outcome.meta.markStats;
        expect(s.method).toBe(outcome.meta.spec.markMethod);
        expect(s.marks).toBe(promised.length);
        means[s.method] = s.totalMs / s.marks;
      } finally {
        rec.close();
      }
    }
    process.stdout.write(`mark cost in this kernel: ioctl ${(means.ioctl! * 1000).toFixed(0)} us, dmsetup ${(means.dmsetup! * 1000).toFixed(0)} us\n`);
    expect(means.ioctl!).toBeLessThan(means.dmsetup!);
  }, 400_000);
});
