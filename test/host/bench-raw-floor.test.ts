import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/run.js';
import { compileRawFloor, parseRawFloorOutput } from '../../src/bench/peers/raw-floor.js';

function has(tool: string): boolean {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const hasCc = (): boolean => has('cc');
const hasStrace = (): boolean => has('strace');

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

  it('with a batch, reports steps of that many entries', async () => {
    const binary = await compileRawFloor(join(dir, 'cache'));
    const file = join(dir, 'batch.dat');
    await run(binary, ['fill', file, String(1024 * 1024)]);
    const out = parseRawFloorOutput((await run(binary, ['run', file, '4096', '50', '16'])).stdout);
    expect(out.batch).toBe(16);
    expect(out.ops).toBeGreaterThan(0);
    expect(out.latenciesNs).toHaveLength(out.ops);
    expect(statSync(file).size).toBe(1024 * 1024);
  });

  it.skipIf(!hasStrace())('a batch of 16 is one 64 KiB pwrite and one fdatasync per step, under strace (needs strace)', async () => {
    const binary = await compileRawFloor(join(dir, 'cache'));
    const file = join(dir, 'batch-strace.dat');
    await run(binary, ['fill', file, String(1024 * 1024)]);
    const trace = join(dir, 'batch.strace');
    await run('strace', ['-f', '-e', 'trace=pwrite64,fdatasync', '-o', trace, binary, 'run', file, '4096', '30', '16']);
    const lines = readFileSync(trace, 'utf8').split('\n');
    const writes = lines.filter((l) => l.includes('pwrite64('));
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.every((l) => /, 65536, \d+\) += 65536$/.test(l))).toBe(true);
    expect(lines.filter((l) => l.includes('fdatasync(')).length).toBe(writes.length);
  });

  it('refuses bad arguments with exit status 2', async () => {
    const binary = await compileRawFloor(join(dir, 'cache'));
    const r = await run(binary, ['run', join(dir, 'missing.dat'), '4096'], { allowFailure: true });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/usage/);
    const zero = await run(binary, ['run', join(dir, 'missing.dat'), '4096', '50', '0'], { allowFailure: true });
    expect(zero.exitCode).toBe(2);
    expect(zero.stderr).toMatch(/bad ENTRY_BYTES, DURATION_MS or BATCH/);
  });
});
