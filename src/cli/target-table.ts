import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RunResults, SummaryRow, TargetTrialOutcome } from '../crash/index.js';
import { formatPromise } from '../targets/contract.js';
import type { TargetSetting } from '../targets/target.js';

// The table of `crashtest --target all` (issue 14): target x setting x mode x verdict, with the
// counts, each row's wall time and the states it checked per second; as Markdown (the README shows
// the latest) and JSON beside it.

export interface TableRow {
  target: string;
  setting: string;
  promise: string;
  mayCorrupt: boolean;
  cite: string;
  mode: string;
  trials: number;
  acked: number;
  lostBeyondContract: number;
  allowedLoss: number;
  damagedTrials: number;
  phantoms: number;
  verdict: 'held' | 'CONTRACT BROKEN';
  /** The trials' own time (the VM boot and the bundling are the run's, not a row's). */
  wallMs: number;
  statesPerSecond: number;
  artifacts: string[];
}

export function tableRows(results: RunResults<TargetTrialOutcome>, settings: readonly TargetSetting[]): TableRow[] {
  return settings.flatMap((setting) => {
    const trials = results.trials.filter((t) => t.target.setting === setting.name);
    const first = trials[0];
    if (first === undefined) return [];
    const row = results.rows.find((r) => r.strategy === `${first.target.name} ${setting.name}`) as SummaryRow;
    const wallMs = trials.reduce((n, t) => n + t.durationMs, 0);
    const states = trials.reduce((n, t) => n + t.target.states, 0);
    return [
      {
        target: first.target.name,
        setting: setting.name,
        promise: formatPromise(setting.contract.promise),
        mayCorrupt: setting.contract.mayCorrupt,
        cite: setting.contract.cite,
        mode: first.mode,
        trials: trials.length,
        acked: row.acked,
        lostBeyondContract: row.lostBeyondContract,
        allowedLoss: row.allowedLoss ?? 0,
        damagedTrials: row.damagedTrials ?? 0,
        phantoms: row.phantoms ?? 0,
        verdict: row.verdict === 'violated' ? 'CONTRACT BROKEN' : 'held',
        wallMs,
        statesPerSecond: wallMs > 0 ? states / (wallMs / 1000) : 0,
        artifacts: trials.flatMap((t) => (t.artifactDir ? [t.artifactDir] : [])),
      },
    ];
  });
}

export function markdownTable(rows: readonly TableRow[], heading: string): string {
  const head = [
    'target',
    'setting',
    'promise',
    'mode',
    'trials',
    'acked',
    'lost beyond contract',
    'allowed loss',
    'damaged trials',
    'phantoms',
    'verdict',
    'wall s',
    'states/s',
  ];
  const lines = [heading, '', `| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  for (const r of rows) {
    const promise = `${r.promise}${r.mayCorrupt ? ', may corrupt' : ''}`;
    const verdict = r.verdict === 'held' ? 'held' : `**${r.verdict}**`;
    const cells = [
      r.target,
      `[${r.setting}](${r.cite})`,
      promise,
      r.mode,
      r.trials,
      r.acked,
      r.lostBeyondContract,
      r.allowedLoss,
      r.damagedTrials,
      r.phantoms,
      verdict,
    ];
    lines.push(`| ${[...cells, (r.wallMs / 1000).toFixed(0), r.statesPerSecond.toFixed(3)].join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** Write targets.md and targets.json under `dir`; returns the Markdown file. */
export function writeTable(dir: string, rows: readonly TableRow[], heading: string, results: unknown): string {
  mkdirSync(dir, { recursive: true });
  const md = path.join(dir, 'targets.md');
  writeFileSync(md, markdownTable(rows, heading));
  writeFileSync(path.join(dir, 'targets.json'), `${JSON.stringify({ rows, results }, null, 2)}\n`);
  return md;
}
