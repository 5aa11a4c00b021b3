import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Resource } from '../src/dm/resource.js';
import { resourcePresent } from '../src/dm/resource.js';

// For scripts/interrupt-matrix.sh: of every resource a run ever listed in its ledger (copies
// collected under DIR while it ran), prints those still present, counted by kind. Only the run's
// own resources count: other work on this machine does not blur the table.
const dir = process.argv[2] ?? '.';
const seen = new Map<string, Resource>();
for (const f of existsSync(dir) ? readdirSync(dir) : []) {
  try {
    for (const r of (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { resources: Resource[] }).resources) seen.set(JSON.stringify(r), r);
  } catch {
    // a copy taken mid-rename
  }
}
const left = [...seen.values()].filter(resourcePresent);
const byKind = new Map<string, number>();
for (const r of left)
  byKind.set(r.kind === 'process' ? `process:${r.label}` : r.kind, (byKind.get(r.kind === 'process' ? `process:${r.label}` : r.kind) ?? 0) + 1);
process.stdout.write(left.length === 0 ? `nothing (of ${seen.size})` : `${[...byKind].map(([k, n]) => `${n} ${k}`).join(', ')} (of ${seen.size})`);
