// sudo pnpm bench:states [--max-states N]
// States/s of crash-state checking on the committed recordings (test/fixtures/recordings), side
// by side in one run: mounts through the tools (`mount -o loop` + `umount`, what checking did
// before issue 15) with one job, by syscall with one job, and by syscall with two jobs; each
// recording's three runs back to back so the machine's load drifts alike for all, the load average
// printed with every figure. A benchmark, not a test: it asserts nothing about speed, and fails
// only when two jobs give other verdicts than one. Needs root (loop mounts).
import { loadavg } from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { checkRecording, type CheckOptions } from '../src/crash/explore/check-states.js';
import { campaignEntry, type CheckTimings } from '../src/crash/explore/check-report.js';
import { findRecordings } from '../src/crash/explore/fuzz.js';
import { PROJECT_ROOT } from '../src/project-root.js';

interface Variant {
  label: string;
  options: CheckOptions;
}

const VARIANTS: Variant[] = [
  { label: 'tools, 1 job (before)', options: { jobs: 1, mountWith: 'tools' } },
  { label: 'syscall, 1 job', options: { jobs: 1 } },
  { label: 'syscall, 2 jobs', options: { jobs: 2 } },
];

function maxStatesArg(): number | undefined {
  const at = process.argv.indexOf('--max-states');
  if (at < 0) return undefined;
  const text = process.argv[at + 1] ?? '';
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    process.stderr.write(`bench:states: --max-states must be a whole number from 1, got ${JSON.stringify(text)}\n`);
    process.exit(2);
  }
  return Number(text);
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench:states: needs root (loop mounts): sudo pnpm bench:states\n');
    return 2;
  }
  const maxStates = maxStatesArg();
  const recordings = findRecordings(path.join(PROJECT_ROOT, 'test', 'fixtures', 'recordings'));
  const totals = VARIANTS.map(() => ({
    states: 0,
    wallMs: 0,
    timings: { materialiseMs: 0, mountMs: 0, recoverMs: 0, secondLifeMs: 0, judgeMs: 0 },
    loads: [] as number[],
  }));
  let same = true;
  for (const dir of recordings) {
    const entries = [];
    for (const [n, variant] of VARIANTS.entries()) {
      const load = loadavg()[0] as number;
      const report = await checkRecording(dir, { ...variant.options, ...(maxStates !== undefined ? { maxStates } : {}) });
      const total = totals[n] as (typeof totals)[number];
      total.states += report.checkedNow;
      total.wallMs += report.timings.totalMs;
      for (const k of Object.keys(total.timings) as (keyof Omit<CheckTimings, 'totalMs'>)[]) total.timings[k] += report.timings[k];
      total.loads.push(load, loadavg()[0] as number);
      entries.push(campaignEntry(report, maxStates === undefined));
      process.stderr.write(
        `${path.basename(dir)}: ${variant.label}: ${report.checkedNow} states, ${report.statesPerSecond.toFixed(1)} states/s (load ${load.toFixed(1)})\n`,
      );
    }
    // The syscall runs with one and two jobs must agree state for state in what they report.
    if (!isDeepStrictEqual(entries[1], entries[2])) {
      same = false;
      process.stderr.write(`${path.basename(dir)}: 1 job and 2 jobs report different verdicts\n`);
    }
  }
  const rates = totals.map((t) => t.states / (t.wallMs / 1000));
  process.stdout.write(
    `\ncrash-state checking of ${recordings.length} committed recordings${maxStates ? `, first ${maxStates} states each` : ', every state'}\n`,
  );
  process.stdout.write(
    `${'variant'.padEnd(24)} ${'states'.padStart(7)} ${'wall s'.padStart(7)} ${'states/s'.padStart(9)}   per state (ms): materialise  mount+umount  recover  second lives   load (min-max)\n`,
  );
  for (const [n, v] of VARIANTS.entries()) {
    const t = totals[n] as (typeof totals)[number];
    const per = (x: number) => (x / Math.max(t.states, 1)).toFixed(1).padStart(8);
    process.stdout.write(
      `${v.label.padEnd(24)} ${String(t.states).padStart(7)} ${(t.wallMs / 1000).toFixed(1).padStart(7)} ${(rates[n] as number).toFixed(1).padStart(9)}   ${' '.repeat(12)}${per(t.timings.materialiseMs)}  ${per(t.timings.mountMs).padStart(12)}  ${per(t.timings.recoverMs).padStart(7)}  ${per(t.timings.secondLifeMs).padStart(12)}   ${Math.min(...t.loads).toFixed(1)}-${Math.max(...t.loads).toFixed(1)}\n`,
    );
  }
  const [tools, one, two] = rates as [number, number, number];
  process.stdout.write(
    `\nratios: syscall/tools (1 job) ${(one / tools).toFixed(2)}x; 2 jobs/1 job ${(two / one).toFixed(2)}x; 2 jobs/before ${(two / tools).toFixed(2)}x\n` +
      `verdicts with 2 jobs ${same ? 'identical to 1 job, state for state' : 'DIFFER from 1 job'}\n`,
  );
  return same ? 0 : 1;
}

main().then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    process.stderr.write(`bench:states: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  },
);
