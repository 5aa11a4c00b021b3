import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The project root, found by walking up from this module to powercut's package.json. Sources sit
// at different depths under src/, and bundles (dist/<run>/*.mjs) flatten them into one directory,
// so a fixed '../..' from import.meta.url is right in one place and wrong in the other.
function findRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'powercut') return dir;
      } catch {
        // Not ours (or unreadable): keep walking up.
      }
    }
    if (path.dirname(dir) === dir) throw new Error(`powercut's package.json not found above ${start}`);
  }
}

export const PROJECT_ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)));

/**
 * The native addons' build directory (POWERCUT_NATIVE_BUILD picks another build, e.g. a planted
 * one). A relative path is the user's, from the working directory: require() would take it for a
 * package name.
 */
export function nativeBuildDir(variable: 'POWERCUT_NATIVE_BUILD' | 'POWERCUT_DM_NATIVE_BUILD' = 'POWERCUT_NATIVE_BUILD'): string {
  const given = process.env[variable];
  return given === undefined || given === '' ? path.join(PROJECT_ROOT, 'native', 'build') : path.resolve(given);
}
