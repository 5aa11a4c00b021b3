import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkOneState } from '../../src/crash/explore/fuzz.js';

// Every failing state `pnpm fuzz` saved (test/fixtures/recordings/regressions/) is checked again:
// a state of a deliberately wrong writer must stay caught (expect "violated"), a state that once
// exposed a real WAL bug must stay fixed (expect "held").

const root = join(import.meta.dirname, '../fixtures/recordings/regressions');
const cases = existsSync(root)
  ? readdirSync(root)
      .filter((d) => existsSync(join(root, d, 'regression.json')))
      .map((d) => [d, JSON.parse(readFileSync(join(root, d, 'regression.json'), 'utf8')) as { stateId: string; expect: 'held' | 'violated' }] as const)
  : [];
const why = process.getuid?.() !== 0 ? 'requires root (loop mounts)' : cases.length === 0 ? 'no regression fixtures saved' : undefined;

describe.skipIf(why !== undefined)(`saved crash-state regressions${why ? ` (skipped: ${why})` : ''}`, () => {
  it.each(cases)(
    '%s',
    async (dir, regression) => {
      const result = await checkOneState(join(root, dir), regression.stateId);
      expect(result.status).toBe(regression.expect);
    },
    60_000,
  );
});
