import { accessSync, constants, mkdtempSync, rmdirSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError } from 'commander';
import type { Parsed } from './parse-args.js';

// Checks of the paths a command line names, made before any work starts: a run that can only
// fail at its end (bench writing results after an hour, crashtest its --json) must fail at once.
// None of them leaves anything behind: a refused command leaves no trace.

function stat(p: string): Stats | undefined {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

// Whether a directory takes new entries. Tried rather than judged from the mode bits: root
// passes every access() check, yet /proc, a read-only mount or a full quota still refuse.
function writable(dir: string): boolean {
  try {
    rmdirSync(mkdtempSync(path.join(dir, '.powercut-probe-')));
    return true;
  } catch {
    return false;
  }
}

/** A directory that exists and is writable, or that can be created (its nearest existing ancestor is a writable directory). */
export function writableDir(option: string, dir: string): Parsed<string> {
  const abs = path.resolve(dir);
  const s = stat(abs);
  if (s !== undefined) {
    if (!s.isDirectory()) return { ok: false, message: `${option} ${dir} is not a directory` };
    return writable(abs) ? { ok: true, value: abs } : { ok: false, message: `${option} ${dir} is not writable` };
  }
  let up = path.dirname(abs);
  while (stat(up) === undefined && up !== path.dirname(up)) up = path.dirname(up);
  if (!stat(up)?.isDirectory()) return { ok: false, message: `${option} ${dir} cannot be created: ${up} is not a directory` };
  if (!writable(up)) return { ok: false, message: `${option} ${dir} cannot be created: ${up} is not writable` };
  return { ok: true, value: abs };
}

/** A file that can be written: not a directory, in a directory that exists and is writable. */
export function writableFile(option: string, file: string): Parsed<string> {
  const abs = path.resolve(file);
  const s = stat(abs);
  if (s?.isDirectory()) return { ok: false, message: `${option} ${file} is a directory, not a file` };
  const parent = path.dirname(abs);
  const ps = stat(parent);
  if (ps === undefined) return { ok: false, message: `${option} ${file}: directory ${parent} does not exist` };
  if (!ps.isDirectory()) return { ok: false, message: `${option} ${file}: ${parent} is not a directory` };
  if (!writable(parent)) return { ok: false, message: `${option} ${file}: directory ${parent} is not writable` };
  return { ok: true, value: abs };
}

/** A directory that exists. */
export function existingDir(option: string, dir: string): Parsed<string> {
  const abs = path.resolve(dir);
  const s = stat(abs);
  if (s === undefined) return { ok: false, message: `${option} ${dir} does not exist` };
  if (!s.isDirectory()) return { ok: false, message: `${option} ${dir} is not a directory` };
  return { ok: true, value: abs };
}

/** A regular file that exists and can be read. */
export function existingFile(option: string, file: string): Parsed<string> {
  const abs = path.resolve(file);
  const s = stat(abs);
  if (s === undefined) return { ok: false, message: `${option} ${file} does not exist` };
  if (s.isDirectory()) return { ok: false, message: `${option} ${file} is a directory, not a file` };
  if (!s.isFile()) return { ok: false, message: `${option} ${file} is not a regular file` };
  try {
    accessSync(abs, constants.R_OK);
  } catch {
    return { ok: false, message: `${option} ${file} is not readable` };
  }
  return { ok: true, value: abs };
}

// A path check as a commander option parser: the command refuses to start, with commander's one
// line, while the arguments are still being read.
export function pathOption(check: (option: string, p: string) => Parsed<string>, option: string): (text: string) => string {
  return (text) => {
    const r = check(option, text);
    if (!r.ok) throw new InvalidArgumentError(r.message);
    return r.value;
  };
}
