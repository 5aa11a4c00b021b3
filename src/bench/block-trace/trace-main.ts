import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureTargets } from '../../dm/index.js';
import { TRACE_LINE, formatRowLine } from './report.js';
import { traceAll, type TraceSpec } from './run.js';

// Entry of the block-trace step where dm-log-writes and blktrace exist (bundled by handoff.ts and
// run in the microVM): `node trace-main.mjs SPECS.json OUT_DIR`. One line per strategy on stdout
// (TRACE_LINE), OUT_DIR/results.json for the host.

async function main(): Promise<number> {
  const [specsFile, outDir] = process.argv.slice(2);
  if (specsFile === undefined || outDir === undefined) {
    process.stderr.write('usage: trace-main SPECS.json OUT_DIR\n');
    return 2;
  }
  const specs = JSON.parse(readFileSync(specsFile, 'utf8')) as TraceSpec[];
  const { missing } = await ensureTargets(['log-writes']);
  if (missing.length > 0) {
    process.stderr.write('block-trace: this kernel has no dm-log-writes target\n');
    return 2;
  }
  const writerScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'trace-writer.mjs');
  const results = await traceAll(specs, [writerScript], outDir, (row) => process.stdout.write(`${TRACE_LINE} ${formatRowLine(row)}\n`));
  writeFileSync(path.join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`block-trace: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
