// Runs the WAL core's own C++ tests (native/test/core-test.cc, no Node involved) through
// `make -C native test`: both CRC32C implementations, every strategy, concurrent appenders.
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const native = path.resolve(import.meta.dirname, '../../native');
const hasToolchain = spawnSync('make', ['--version']).status === 0 && spawnSync(process.env.CXX ?? 'g++', ['--version']).status === 0;

describe('WAL core, standalone C++', () => {
  it.skipIf(!hasToolchain)(
    'passes its own tests with hardware and portable CRC32C (needs make and g++)',
    () => {
      const out = execFileSync('make', ['-s', '-C', native, 'test'], { encoding: 'utf8', timeout: 120_000 });
      expect(out.match(/all core tests passed/g)?.length).toBe(2);
      expect(out).toMatch(/ok Crc32cKnownAnswers \(portable\)/);
    },
    150_000,
  );
});
