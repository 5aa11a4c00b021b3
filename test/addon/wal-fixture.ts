// Test fixtures for the WAL: everything of wal-format.ts (temporary directories, an independent
// reader of the on-disk format) plus what needs vitest's hooks.
import { afterEach } from 'vitest';
import { cleanup, tempDir } from './wal-format.js';

export * from './wal-format.js';

/** In a test file: returns a maker of fresh directories, each removed after its test. */
export function tempDirs(prefix = 'wal-test-'): () => string {
  const made: string[] = [];
  afterEach(() => {
    for (const d of made.splice(0)) cleanup(d);
  });
  return () => {
    const d = tempDir(prefix);
    made.push(d);
    return d;
  };
}
