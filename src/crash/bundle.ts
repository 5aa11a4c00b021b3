import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { CrashError } from './crash-error.js';

// Under TCG `node --import tsx` costs 6-8 s for the writer and 25-45 s for crashtest itself
// (esbuild's service transpiling every module on each start), against about 1 s for plain
// JavaScript. The writer starts once per trial, so both are bundled on the host before the VM
// boots: one ES module per entry (writer-main.mjs, crashtest.mjs, and issue 6's
// log-writes-mode.mjs once it exists) with shared chunks, in a directory of the run's own,
// dist/crashtest-XXXX/. It is two levels below the project root, as the sources are, so every
// lookup relative to import.meta.url (the project root) resolves the same way.
// The WAL's addon is snapshotted into the same directory and POWERCUT_NATIVE_BUILD points there
// (the VM inherits POWERCUT_* variables): a `pnpm build:native` running meanwhile in the same
// tree must not pull the addon from under a run, and every trial of a run uses the same binary.

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface Bundles {
  dir: string;
  writer: string;
  cli: string;
  /** The addon snapshot, as a POWERCUT_NATIVE_BUILD directory. */
  nativeBuild: string;
}

const ADDON = path.join('Release', 'powercut_wal.node');

/** Bundle the writer and the crashtest CLI (and the log-writes mode when its source exists). */
export async function bundleCrashtest(root = PROJECT_ROOT): Promise<Bundles> {
  const sourceBuild = process.env.POWERCUT_NATIVE_BUILD ?? path.join(root, 'native', 'build');
  if (!existsSync(path.join(sourceBuild, ADDON))) {
    throw new CrashError('NOT_BUILT', `the WAL's native addon ${path.join(sourceBuild, ADDON)} is missing: run \`pnpm build:native\``);
  }
  mkdirSync(path.join(root, 'dist'), { recursive: true });
  const outdir = mkdtempSync(path.join(root, 'dist', 'crashtest-'));
  const nativeBuild = path.join(outdir, 'native');
  mkdirSync(path.join(nativeBuild, 'Release'), { recursive: true });
  copyFileSync(path.join(sourceBuild, ADDON), path.join(nativeBuild, ADDON));
  const entryPoints = [path.join(root, 'src', 'workload', 'writer-main.ts'), path.join(root, 'src', 'cli', 'crashtest.ts')];
  const logWrites = path.join(root, 'src', 'crash', 'log-writes-mode.ts');
  if (existsSync(logWrites)) entryPoints.push(logWrites);
  try {
    await build({
      entryPoints,
      outdir,
      entryNames: '[name]',
      chunkNames: 'chunk-[hash]',
      outExtension: { '.js': '.mjs' },
      bundle: true,
      splitting: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // Packages load from node_modules as usual; the addon through POWERCUT_NATIVE_BUILD.
      packages: 'external',
      external: ['*.node'],
      logLevel: 'silent',
    });
  } catch (cause) {
    rmSync(outdir, { recursive: true, force: true });
    throw new CrashError('BUNDLE_FAILED', `cannot bundle crashtest for the VM: ${(cause as Error).message}`, { cause });
  }
  return { dir: outdir, writer: path.join(outdir, 'writer-main.mjs'), cli: path.join(outdir, 'crashtest.mjs'), nativeBuild };
}

/** Use the bundle's addon snapshot in this process and every writer it starts. */
export function useAddonSnapshot(bundles: Bundles): void {
  process.env.POWERCUT_NATIVE_BUILD = bundles.nativeBuild;
}

/** Remove a run's bundle directory. */
export function removeBundles(bundles: Bundles): void {
  rmSync(bundles.dir, { recursive: true, force: true });
}

/** The bundled writer next to this module when it runs from a bundle, else undefined. */
export function siblingWriterBundle(): string | undefined {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const file = path.join(here, 'writer-main.mjs');
  try {
    return statSync(file).isFile() ? file : undefined;
  } catch {
    return undefined;
  }
}
