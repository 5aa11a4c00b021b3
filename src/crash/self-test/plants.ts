import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../project-root.js';
import { CrashError } from '../crash-error.js';
import { groupCommitApplies, isStrategy, type Strategy } from '../../strategy/index.js';

// The planted bugs of the self-test, as native/plants.json lists them (one place for each
// plant's name, class and strategy; binding.gyp and scripts/build-planted.sh read the same file),
// where each build lives, and which runs the clean build needs. Reading and validating the list
// is pure; only plantsFile/buildIsCurrent touch the disk.

export interface Plant {
  name: string;
  /** The class of durability bug it stands for (the self-test's table row). */
  class: string;
  /** The default crashtest it is run through: `crashtest --strategy S [--group-commit]`. */
  strategy: Strategy;
  groupCommit: boolean;
}

export const PLANTS_FILE = path.join(PROJECT_ROOT, 'native', 'plants.json');

/** The addon a plant is built into by scripts/build-planted.sh (a POWERCUT_NATIVE_BUILD directory). */
export function plantBuildDir(name: string, root = PROJECT_ROOT): string {
  return path.join(root, 'native', 'build-planted', name);
}

/** The shipped addon's build: the clean build of the self-test. */
export function cleanBuildDir(root = PROJECT_ROOT): string {
  return path.join(root, 'native', 'build');
}

/** Parse and check plants.json's content; BAD_OPTION names the first bad entry. */
export function parsePlants(json: unknown): Plant[] {
  const list = (json as { plants?: unknown } | null)?.plants;
  if (!Array.isArray(list) || list.length === 0) throw new CrashError('BAD_OPTION', 'native/plants.json: "plants" must be a non-empty list');
  const plants = list.map((entry: unknown, i): Plant => {
    const e = (entry ?? {}) as Record<string, unknown>;
    const where = `native/plants.json plant ${i}${typeof e.name === 'string' ? ` (${e.name})` : ''}`;
    if (typeof e.name !== 'string' || !/^[a-z0-9-]+$/.test(e.name))
      throw new CrashError('BAD_OPTION', `${where}: "name" must be lower-case letters, digits and '-'`);
    if (typeof e.class !== 'string' || e.class === '') throw new CrashError('BAD_OPTION', `${where}: "class" is missing`);
    if (!isStrategy(e.strategy)) throw new CrashError('BAD_OPTION', `${where}: "strategy" must name a strategy (src/strategy)`);
    if (typeof e.groupCommit !== 'boolean') throw new CrashError('BAD_OPTION', `${where}: "groupCommit" must be true or false`);
    if (e.groupCommit && !groupCommitApplies(e.strategy)) throw new CrashError('BAD_OPTION', `${where}: group commit does not apply to ${e.strategy}`);
    return { name: e.name, class: e.class, strategy: e.strategy, groupCommit: e.groupCommit };
  });
  const seen = new Set<string>();
  for (const p of plants) {
    if (seen.has(p.name)) throw new CrashError('BAD_OPTION', `native/plants.json: plant ${p.name} is listed twice`);
    seen.add(p.name);
  }
  return plants;
}

/** The plants of native/plants.json. */
export function readPlants(file = PLANTS_FILE): Plant[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new CrashError('BAD_OPTION', `cannot read ${file}: ${(cause as Error).message}`, { cause });
  }
  return parsePlants(json);
}

/** The plants `--only a,b` names, in the list's order; BAD_OPTION for a name not in the list. */
export function selectPlants(plants: readonly Plant[], only: readonly string[] | undefined): Plant[] {
  if (only === undefined) return [...plants];
  const unknown = only.filter((n) => !plants.some((p) => p.name === n));
  if (unknown.length > 0)
    throw new CrashError('BAD_OPTION', `--only: unknown plant ${unknown.join(', ')}; choose from ${plants.map((p) => p.name).join(', ')}`);
  if (only.length === 0) throw new CrashError('BAD_OPTION', '--only needs at least one plant name');
  return plants.filter((p) => only.includes(p.name));
}

/** One run of the clean build: strategies that can share a run (group commit is per run). */
export interface CleanRun {
  strategies: Strategy[];
  groupCommit: boolean;
}

/**
 * The runs of the clean build the plants need: one per strategy (with or without group commit) a
 * plant uses, each the default run `crashtest --strategy S` a user makes. One run per strategy
 * rather than one for all: the runs then spread over the self-test's jobs (one run of three
 * strategies was the self-test's long pole, 45 of its 47 minutes).
 */
export function cleanRuns(plants: readonly Plant[]): CleanRun[] {
  const runs: CleanRun[] = [];
  for (const groupCommit of [false, true]) {
    for (const strategy of new Set(plants.filter((p) => p.groupCommit === groupCommit).map((p) => p.strategy)))
      runs.push({ strategies: [strategy], groupCommit });
  }
  return runs;
}

/** The newest modification time under `dir` (files only), 0 when it has none. */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(full));
    else if (entry.isFile()) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

/** The native sources a planted build is compiled from (what scripts/build-planted.sh copies). */
const BUILD_INPUTS = ['wal', 'addon', 'dm', 'binding.gyp'];

/**
 * Whether a plant's addon is newer than every native source it was built from (both addons the
 * harness loads: the WAL's and the dm marks'); a missing build is not current.
 */
export function buildIsCurrent(name: string, root = PROJECT_ROOT): boolean {
  const release = path.join(plantBuildDir(name, root), 'Release');
  let built: number;
  try {
    built = Math.min(...['powercut_wal.node', 'powercut_dm.node'].map((f) => statSync(path.join(release, f)).mtimeMs));
  } catch {
    return false;
  }
  const sources = BUILD_INPUTS.map((p) => path.join(root, 'native', p));
  const newest = Math.max(...sources.map((s) => (statSync(s).isDirectory() ? newestMtime(s) : statSync(s).mtimeMs)));
  return built >= newest;
}
