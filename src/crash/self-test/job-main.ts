import { writeFileSync } from 'node:fs';
import { checkModeBuilt } from '../modes.js';
import { ConsoleReporter } from '../reporter.js';
import { defaultRunOptions, runDefaultChecks } from '../default-run.js';
import { requireRoot } from '../placement.js';
import { nativeModule } from '../../wal/native.js';
import { isStrategy, type Strategy } from '../../strategy/index.js';
import type { CheckSummary, JobOutcome } from './report.js';

// One build's default run, as a child process of the self-test: the addon is chosen by
// POWERCUT_NATIVE_BUILD, which the runner sets for this process, so the harness process (which
// runs recovery and checks crash states) and every writer and VM it starts load the same build.
// The addon is loaded once per process, hence a process per build.
//   node --import tsx job-main.ts <spec.json> <outcome.json>
// Exit 0 when the outcome file was written (whatever the verdict), 2 when it could not be.

export interface JobSpec {
  strategies: Strategy[];
  groupCommit: boolean;
  seed: number;
  artifactsRoot: string;
  /** The plant this build must carry (the addon's own `planted`), null for the clean build. */
  expectPlanted: string | null;
  /** Stop at the first violated check (a plant: caught is all that is asked). */
  stopAtViolation: boolean;
}

async function main(specArg: string | undefined, outArg: string | undefined): Promise<void> {
  if (specArg === undefined || outArg === undefined) throw new Error('usage: job-main <spec-json> <outcome-file>');
  const spec = JSON.parse(specArg) as JobSpec;
  if (!Array.isArray(spec.strategies) || !spec.strategies.every((s) => isStrategy(s))) throw new Error(`bad strategies in ${specArg}`);
  const started = Date.now();
  const write = (o: JobOutcome) => writeFileSync(outArg, `${JSON.stringify(o, null, 2)}\n`);
  try {
    requireRoot();
    checkModeBuilt('log-writes');
    // A wrong POWERCUT_NATIVE_BUILD would make a clean build look like a missed plant, or the
    // reverse: the addon says which plant it carries, and it must be the one asked for.
    const planted = nativeModule().planted;
    if (planted !== spec.expectPlanted)
      throw new Error(
        `the addon in ${process.env.POWERCUT_NATIVE_BUILD ?? 'native/build'} carries ${planted ?? 'no plant'}, expected ${spec.expectPlanted ?? 'no plant'}`,
      );
    const [first, ...rest] = spec.strategies;
    if (first === undefined) throw new Error('no strategy');
    const options = {
      ...defaultRunOptions(first, { seed: spec.seed, groupCommit: spec.groupCommit, artifactsRoot: spec.artifactsRoot }),
      strategies: [first, ...rest],
      stopAtViolation: spec.stopAtViolation,
    };
    const result = await runDefaultChecks(
      { ...options, onCheck: (check, trials) => process.stderr.write(`self-test job: ${check}, ${trials} trials per strategy\n`) },
      new ConsoleReporter(),
    );
    const checks: CheckSummary[] = result.checks.map((c) => ({
      check: c.check,
      verdict: c.verdict,
      trials: c.trials,
      durationMs: c.durationMs,
      firstViolated: c.violated[0] ?? null,
      errors: c.errors,
    }));
    write({ status: 'finished', verdict: result.verdict, checks, notRun: result.notRun, durationMs: Date.now() - started });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`self-test job: ${message}\n`);
    write({ status: 'error', message, durationMs: Date.now() - started });
  }
}

main(process.argv[2], process.argv[3]).then(
  () => (process.exitCode = 0),
  (error: unknown) => {
    process.stderr.write(`self-test job: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  },
);
