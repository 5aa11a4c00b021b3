// Sums the vitest JSON reports of one `pnpm test` into the closing line CI reads:
// "N passed, N failed, N skipped". A suite that wrote no report counts as a failure, so a runner
// that died before reporting cannot look like a pass. `crashtest --self-test --json` writes the
// same counters, a test per plant and per clean run (src/crash/self-test/report.ts ciReport).
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
const expected = ['host.json', 'integration.json', 'self-test.json'];
let passed = 0,
  failed = 0,
  skipped = 0,
  missing = 0;
for (const name of expected) {
  const file = join(dir, name);
  if (!existsSync(file)) {
    console.log(`${name}: no report written (that suite did not run to the end)`);
    missing += 1;
    continue;
  }
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + report.numTodoTests;
  console.log(`${name}: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests} skipped`);
}
console.log(`\n${passed} passed, ${failed + missing} failed, ${skipped} skipped`);
process.exit(failed + missing > 0 ? 1 : 0);
