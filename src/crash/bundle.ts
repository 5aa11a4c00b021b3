import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { nativeBuildDir, PROJECT_ROOT } from '../project-root.js';
import type { CleanupStack } from '../dm/cleanup-stack.js';
import { CrashError } from './crash-error.js';

// Under TCG `node --import tsx` costs 6-8 s for the writer and 25-45 s for crashtest itself
// (esbuild's service transpiling every module on each start), against about 1 s for plain
// JavaScript. The writer starts once per trial, so both are bundled on the host before the VM
// boots: one ES module per entry (writer-main.mjs, crashtest.mjs) with shared chunks, in a directory of the run's own,
// dist/crashtest-<random>/. Modules find the project root by its package.json (src/project-root.ts),
// which works at any depth, bundled or not.
// The WAL's addon is snapshotted into the same directory and POWERCUT_NATIVE_BUILD points there
// (the VM inherits POWERCUT_* variables): a `pnpm build:native` running meanwhile in the same
// tree must not pull the addon from under a run, and every trial of a run uses the same binary.

export { PROJECT_ROOT };

export interface Bundles {
  dir: string;
  writer: string;
  cli: string;
  /** The addon snapshot, as a POWERCUT_NATIVE_BUILD directory. */
  nativeBuild: string;
  /** The built-in targets' program (src/targets/program-main.ts). */
  program: string;
}

/** What to bundle: entry sources (relative to the root) and the addons to snapshot beside them. */
export interface BundleSpec {
  /** The bundle directory is dist/<prefix>XXXXXX. */
  prefix: string;
  entries: readonly string[];
  /** File names under <native build>/Release, e.g. powercut_wal.node. */
  addons: readonly string[];
  /** Registers the directory the moment it exists, so Ctrl-C or a kill during esbuild leaves none. */
  stack?: CleanupStack;
}

export interface BundleOutput {
  dir: string;
  /** Entry file base name (without extension) -> its bundled .mjs. */
  files: Record<string, string>;
  nativeBuild: string;
}

/** Bundle `spec.entries` into one directory of the run's own, with an addon snapshot. */
export async function bundleEntries(spec: BundleSpec, root = PROJECT_ROOT): Promise<BundleOutput> {
  const sourceBuild = process.env.POWERCUT_NATIVE_BUILD ? nativeBuildDir() : path.join(root, 'native', 'build');
  for (const addon of spec.addons) {
    const file = path.join(sourceBuild, 'Release', addon);
    if (!existsSync(file)) throw new CrashError('NOT_BUILT', `the native addon ${file} is missing: run \`pnpm build:native\``);
  }
  mkdirSync(path.join(root, 'dist'), { recursive: true });
  const outdir = mkdtempSync(path.join(root, 'dist', spec.prefix));
  spec.stack?.add({ kind: 'dir', path: outdir });
  const nativeBuild = path.join(outdir, 'native');
  mkdirSync(path.join(nativeBuild, 'Release'), { recursive: true });
  for (const addon of spec.addons) copyFileSync(path.join(sourceBuild, 'Release', addon), path.join(nativeBuild, 'Release', addon));
  try {
    const building = build({
      entryPoints: spec.entries.map((e) => path.join(root, e)),
      outdir,
      entryNames: '[name]',
      chunkNames: 'chunk-[hash]',
      outExtension: { '.js': '.mjs' },
      bundle: true,
      splitting: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // Packages load from node_modules as usual; the addons through POWERCUT_NATIVE_BUILD.
      packages: 'external',
      external: ['*.node'],
      logLevel: 'silent',
    });
    // An unwind waits for it: removing the directory while esbuild still writes into it would
    // have esbuild create it again after the cleanup.
    await (spec.stack ? spec.stack.track(building) : building);
  } catch (cause) {
    rmSync(outdir, { recursive: true, force: true });
    throw new CrashError('BUNDLE_FAILED', `cannot bundle ${spec.entries.join(', ')}: ${(cause as Error).message}`, { cause });
  }
  const files = Object.fromEntries(spec.entries.map((e) => [path.basename(e, path.extname(e)), path.join(outdir, `${path.basename(e, path.extname(e))}.mjs`)]));
  return { dir: outdir, files, nativeBuild };
}

/**
 * Bundle the writer and the crashtest CLI. (The log-writes mode checks its crash states on the
 * host and never runs whole inside the VM, so it is not part of this bundle.)
 */
export async function bundleCrashtest(root = PROJECT_ROOT, stack?: CleanupStack): Promise<Bundles> {
  const entries = [path.join('src', 'workload', 'writer-main.ts'), path.join('src', 'cli', 'crashtest.ts'), path.join('src', 'targets', 'program-main.ts')];
  const out = await bundleEntries({ prefix: 'crashtest-', entries, addons: ['powercut_wal.node'], ...(stack ? { stack } : {}) }, root);
  return {
    dir: out.dir,
    writer: out.files['writer-main'] as string,
    cli: out.files.crashtest as string,
    program: out.files['program-main'] as string,
    nativeBuild: out.nativeBuild,
  };
}

/**
 * Use the bundle's addon snapshot in this process and every writer it starts; returns the undo
 * (call it before removing the bundle, or the next run would look for a deleted snapshot).
 */
export function useAddonSnapshot(bundles: Bundles): () => void {
  const previous = process.env.POWERCUT_NATIVE_BUILD;
  process.env.POWERCUT_NATIVE_BUILD = bundles.nativeBuild;
  return () => {
    if (previous === undefined) delete process.env.POWERCUT_NATIVE_BUILD;
    else process.env.POWERCUT_NATIVE_BUILD = previous;
  };
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
