// Runs the WAL core's own C++ tests (native/test/core-test.cc, no Node involved) through
// `make -C native test`: both CRC32C implementations, every strategy, concurrent appenders.
import { spawnSync } from 'node:child_process';
import { execa } from 'execa';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const native = path.resolve(import.meta.dirname, '../../native');
const hasToolchain = spawnSync('make', ['--version']).status === 0 && spawnSync(process.env.CXX ?? 'g++', ['--version']).status === 0;

describe('WAL core, standalone C++', () => {
  it.skipIf(!hasToolchain)(
    'passes its own tests with hardware and portable CRC32C (needs make and g++)',
    async () => {
      // Awaited, not execFileSync: a worker blocked for most of a minute (longer under load) cannot
      // answer vitest's RPC, and the suite then fails with 'Timeout calling "onTaskUpdate"'.
      const { stdout: out } = await execa('make', ['-s', '-C', native, 'test'], { timeout: 120_000 });
      expect(out.match(/all core tests passed/g)?.length).toBe(2);
      expect(out).toMatch(/ok Crc32cKnownAnswers \(portable\)/);
    },
    150_000,
  );
});
