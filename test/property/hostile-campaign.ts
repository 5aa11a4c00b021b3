// The hostile-directory counting campaign: N seeded cases (hostile-cases.ts), none of which stops
// the run, tallied by outcome, with every case that did not hold printed. A command, not a test
// (the bounded property in wal-hostile.test.ts is the test that pnpm test runs):
//   pnpm exec tsx test/property/hostile-campaign.ts --cases 10000 [--seed 13]
// Exit 0 when every case held, 1 otherwise, 2 for bad input.
import { Command } from 'commander';
import fc from 'fast-check';
import { intOption, parseArgs } from '../../src/cli/parse-args.js';
import { caseArb, runCase, type Verdict, type Where } from './hostile-cases.js';

const program = new Command('hostile-campaign')
  .exitOverride()
  .requiredOption('--cases <n>', 'how many seeded cases to run', intOption('--cases', 1, 10_000_000))
  .option('--seed <n>', 'fast-check seed of the case sample', intOption('--seed', 0, 2 ** 31 - 1), 13);

async function main(): Promise<number> {
  const status = parseArgs(program, process.argv.slice(2));
  if (status !== undefined) return status;
  const { cases: count, seed } = program.opts<{ cases: number; seed: number }>();
  const cases = fc.sample(caseArb, { numRuns: count, seed });
  const tally: Record<Verdict['status'], number> = { held: 0, crash: 0, unopenable: 0, 'wrong-payload': 0, 'live-lost': 0 };
  const byWhere: Record<Where, number> = { 'below-first-seq': 0, padding: 0, 'first-seq': 0 };
  let lostEntries = 0;
  const started = Date.now();
  for (const [i, c] of cases.entries()) {
    const v = await runCase(c);
    tally[v.status]++;
    if (v.status === 'held') for (const w of new Set(v.damaged)) byWhere[w]++;
    if (v.status === 'live-lost') lostEntries += v.seqs.length;
    if ((i + 1) % 500 === 0) console.log(`hostile campaign: ${i + 1} of ${count} cases: ${JSON.stringify(tally)}`);
    if (v.status !== 'held')
      console.log(`case ${i}: ${JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? Array.from(x) : x instanceof Error ? x.message : x))}`);
  }
  console.log(
    `hostile campaign: seed ${seed}, ${count} cases in ${((Date.now() - started) / 1000).toFixed(0)} s: ${JSON.stringify(tally)}; live entries lost ${lostEntries}; held cases that damaged: ${JSON.stringify(byWhere)}`,
  );
  return tally.held === count ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`hostile-campaign: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
