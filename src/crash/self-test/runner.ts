import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../project-root.js';
import { run } from '../../run.js';
import { CrashError } from '../crash-error.js';
import { requireRoot } from '../placement.js';
import { strategyLabel } from '../../strategy/index.js';
import type { JobSpec } from './job-main.js';
import { buildIsCurrent, cleanBuildDir, cleanRuns, plantBuildDir, readPlants, selectPlants, type CleanRun, type Plant } from './plants.js';
import { ciReport, cleanRow, formatSelfTestTable, formatSelfTestVerdict, plantRow, selfTestExitCode, type JobOutcome, type SelfTestRow } from './report.js';

// `pnpm crashtest --self-test`: build the planted addons that are out of date, then run every
// plant through the default checks of its strategy and the clean build through the same checks
// for every strategy the plants use, each build in a child process of its own (job-main.ts) with
// POWERCUT_NATIVE_BUILD set, so the harness process (recovery, crash states) and everything it
// starts load that build. A plant stops at the first check that catches it; the clean build
// makes every check. Builds run `jobs` at a time: each boots its own microVM per check.

export interface SelfTestOptions {
  only: string[] | undefined;
  seed: number;
  /** Builds whose default runs go on at once (each boots its own microVM). */
  jobs: number;
  /** Where the JSON report goes (also the file CI sums: it carries vitest's counters). */
  json: string | undefined;
}

type Job = { kind: 'plant'; plant: Plant } | { kind: 'clean'; run: CleanRun };

function jobName(job: Job): string {
  return job.kind === 'plant'
    ? job.plant.name
    : `clean-${job.run.strategies
        .map((s) => strategyLabel(s, job.run.groupCommit))
        .join('-')
        .replace(/\+/g, '-')}`;
}

/** Build the plants whose addon is older than the native sources (scripts/build-planted.sh). */
async function buildPlants(plants: readonly Plant[]): Promise<void> {
  const stale = plants.filter((p) => !buildIsCurrent(p.name));
  if (stale.length === 0) {
    process.stderr.write(`self-test: the ${plants.length} planted builds are up to date\n`);
    return;
  }
  const started = Date.now();
  process.stderr.write(`self-test: building ${stale.length} planted addon(s): ${stale.map((p) => p.name).join(', ')}\n`);
  // Two at a time, as build-planted.sh's `all` does: the machines have 2 CPUs.
  const queue = [...stale];
  const worker = async () => {
    for (let p = queue.shift(); p !== undefined; p = queue.shift()) {
      const r = await run('bash', [path.join(PROJECT_ROOT, 'scripts', 'build-planted.sh'), p.name], { allowFailure: true, cwd: PROJECT_ROOT });
      if (r.exitCode !== 0) throw new CrashError('NOT_BUILT', `planted build ${p.name} failed: ${r.stderr.trim() || r.stdout.trim()}`);
    }
  };
  await Promise.all([worker(), worker()]);
  process.stderr.write(`self-test: built in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
}

/** Run one build's default checks in a child process; its output goes to `log`. */
async function runJob(job: Job, seed: number, dir: string): Promise<JobOutcome> {
  const name = jobName(job);
  const spec: JobSpec =
    job.kind === 'plant'
      ? {
          strategies: [job.plant.strategy],
          groupCommit: job.plant.groupCommit,
          seed,
          artifactsRoot: path.join(dir, name),
          expectPlanted: job.plant.name,
          stopAtViolation: true,
        }
      : {
          strategies: job.run.strategies,
          groupCommit: job.run.groupCommit,
          seed,
          artifactsRoot: path.join(dir, name),
          expectPlanted: null,
          stopAtViolation: false,
        };
  const build = job.kind === 'plant' ? plantBuildDir(job.plant.name) : cleanBuildDir();
  const outcomeFile = path.join(dir, `${name}.outcome.json`);
  const logFile = path.join(dir, `${name}.log`);
  const started = Date.now();
  const fd = openSync(logFile, 'w');
  try {
    // POWERCUT_DM_NATIVE_BUILD too: the dm marks addon is snapshotted from the same build.
    const env = { ...process.env, POWERCUT_NATIVE_BUILD: build, POWERCUT_DM_NATIVE_BUILD: build };
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(PROJECT_ROOT, 'src', 'crash', 'self-test', 'job-main.ts'), JSON.stringify(spec), outcomeFile],
      {
        cwd: PROJECT_ROOT,
        env,
        stdio: ['ignore', fd, fd],
      },
    );
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', (c, signal) => resolve(signal === null ? c : null));
      child.on('error', () => resolve(null));
    });
    if (!existsSync(outcomeFile))
      return {
        status: 'error',
        message: `the run of ${name} ended (status ${code ?? 'killed'}) without an outcome; see ${logFile}`,
        durationMs: Date.now() - started,
      };
    const outcome = JSON.parse(readFileSync(outcomeFile, 'utf8')) as JobOutcome;
    return outcome.status === 'error' ? { ...outcome, message: `${outcome.message} (log: ${logFile})` } : outcome;
  } finally {
    closeSync(fd);
  }
}

/** Run the self-test; returns its exit status (0 all caught and clean held, 1 not, 2 no verdict). */
export async function runSelfTest(options: SelfTestOptions): Promise<number> {
  const started = Date.now();
  const plants = selectPlants(readPlants(), options.only);
  requireRoot();
  await buildPlants(plants);
  const stamp = new Date(started).toISOString().replace(/[:.]/g, '-');
  const dir = path.join(PROJECT_ROOT, 'results', 'self-test', `${stamp}-seed${options.seed}`);
  mkdirSync(dir, { recursive: true });
  // The clean runs first: they carry the most trials (every strategy, no stopping early), so
  // starting them first keeps the tail of the run short.
  const jobs: Job[] = [...cleanRuns(plants).map((run): Job => ({ kind: 'clean', run })), ...plants.map((plant): Job => ({ kind: 'plant', plant }))];
  process.stderr.write(
    `self-test: ${plants.length} plants and ${jobs.length - plants.length} clean run(s), ${options.jobs} at a time, seed ${options.seed}; logs in ${dir}\n`,
  );
  const outcomes = new Map<string, JobOutcome>();
  const queue = [...jobs];
  const worker = async () => {
    for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
      process.stderr.write(`self-test: ${jobName(job)} started\n`);
      const outcome = await runJob(job, options.seed, dir);
      outcomes.set(jobName(job), outcome);
      const row = job.kind === 'plant' ? plantRow(job.plant, outcome) : cleanRow(job.run, outcome);
      process.stderr.write(`self-test: ${jobName(job)} ${row.status} (${(outcome.durationMs / 60_000).toFixed(1)} min)\n`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.jobs, jobs.length) }, worker));
  const outcomeOf = (job: Job): JobOutcome => outcomes.get(jobName(job)) ?? { status: 'error', message: 'not run', durationMs: 0 };
  // The table: plants first, in plants.json's order, then the clean runs.
  const rows: SelfTestRow[] = [
    ...jobs.flatMap((j) => (j.kind === 'plant' ? [plantRow(j.plant, outcomeOf(j))] : [])),
    ...jobs.flatMap((j) => (j.kind === 'clean' ? [cleanRow(j.run, outcomeOf(j))] : [])),
  ];
  const wallMs = Date.now() - started;
  process.stdout.write(`\n${formatSelfTestTable(rows)}\n\n${formatSelfTestVerdict(rows, wallMs)} (seed ${options.seed}; logs and artifacts in ${dir})\n`);
  const report = ciReport(rows, wallMs, { seed: options.seed, jobs: options.jobs, dir });
  writeFileSync(path.join(dir, 'self-test.json'), `${JSON.stringify(report, null, 2)}\n`);
  if (options.json !== undefined) writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
  return selfTestExitCode(rows);
}
