import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { CrashError } from './crash-error.js';

// The writer runs as a fresh process in every trial, and under TCG `node --import tsx` takes
// 6-8 s to start against about 1 s for plain JavaScript. So the writer (src/workload/writer-main.ts
// and what it imports) is bundled once per run into one ES module. It lives two directories below
// the project root, as its sources do, so the WAL's addon lookup (relative to import.meta.url)
// finds native/build exactly as it does from src/wal/.

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Where the bundle goes: ignored by git (dist/). */
export function writerBundlePath(root = PROJECT_ROOT): string {
  return path.join(root, 'dist', 'crashtest', 'writer.mjs');
}

/** Bundle the writer; returns the bundle's path. */
export async function bundleWriter(root = PROJECT_ROOT): Promise<string> {
  const outfile = writerBundlePath(root);
  mkdirSync(path.dirname(outfile), { recursive: true });
  try {
    await build({
      entryPoints: [path.join(root, 'src', 'workload', 'writer-main.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // The addon is loaded at run time from native/build; packages stay where pnpm put them.
      packages: 'external',
      external: ['*.node'],
      logLevel: 'silent',
      sourcemap: 'inline',
    });
  } catch (cause) {
    throw new CrashError('WRITER_BUILD_FAILED', `cannot bundle the writer (${path.join('src', 'workload', 'writer-main.ts')}): ${(cause as Error).message}`, { cause });
  }
  return outfile;
}

/** The bundle at `file` if it exists (inside the VM the host already built it). */
export function existingBundle(file: string): string | undefined {
  try {
    return statSync(file).isFile() ? file : undefined;
  } catch {
    return undefined;
  }
}
