import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

// The WAL as a library: `import { Wal } from 'powercut'` resolves through package.json "exports"
// to the compiled dist/lib (with declarations), and works from a plain Node program.
const root = path.join(import.meta.dirname, '..', '..');

describe('the WAL as a library', () => {
  beforeAll(() => {
    // Rebuild, so the test judges the sources as they are, not a stale dist/lib.
    execFileSync(path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.lib.json'], { cwd: root, stdio: 'pipe' });
  });

  it("import { Wal } from 'powercut' appends, reopens and reads back", () => {
    const out = execFileSync(process.execPath, [path.join(root, 'test', 'fixtures', 'library', 'consumer.mjs')], { cwd: root, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ seqs: [1, 2, 3], back: ['alpha', 'beta', 'gamma'] });
  });
});
