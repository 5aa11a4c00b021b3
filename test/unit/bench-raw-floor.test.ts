import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/run.js';
import { compileRawFloor, parseRawFloorOutput } from '../../src/bench/peers/raw-floor.js';

function hasCc(): boolean {
  try {
    execFileSync('cc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// The floor peer is a real C program; this checks it builds, zero-fills, and reports one latency
// per commit. No speed is asserted (that is the bench's job, not a test's).
describe.skipIf(!hasCc())('raw floor program (needs cc)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'powercut-raw-floor-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('compiles once per source version, fills the file, and reports ops matching its latencies', async () => {
    const binary = await compileRawFloor(join(dir, 'cache'));
    expect(await compileRawFloor(join(dir, 'cache'))).toBe(binary);
    const file = join(dir, 'floor.dat');
    await run(binary, ['fill', file, String(1024 * 1024)]);
    expect(statSync(file).size).toBe(1024 * 1024);
    const out = parseRawFloorOutput((await run(binary, ['run', file, '4096', '50'])).stdout);
    expect(out.ops).toBeGreaterThan(0);
    expect(out.latenciesNs).toHaveLength(out.ops);
    expect(out.elapsedNs).toBeGreaterThanOrEqual(50_000_000);
    // It overwrites the zero-filled region and never extends the file.
    expect(statSync(file).size).toBe(1024 * 1024);
  });

  it('refuses bad arguments with exit status 2', async () => {
    const binary = await compileRawFloor(join(dir, 'cache'));
    const r = await run(binary, ['run', join(dir, 'missing.dat'), '4096'], { allowFailure: true });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/usage/);
  });
});
