import type { Coverage } from '../dm/log-writes/index.js';
import { againstExpectation, type CheckReport, type EpochCoverage, type StatesSummary } from '../crash/explore/index.js';
import type { RecordingMeta } from '../crash/record/session.js';

// The text of a state check's report (`pnpm fuzz --check`, `pnpm fuzz merge`): what was covered,
// per epoch, and the verdict against what the recording is for. A run adds its speed; merged
// shards have none to add, and otherwise read the same.

export interface SummaryView extends StatesSummary {
  recording: string;
  meta: RecordingMeta;
  coverage: Coverage | null;
}

function epochLines(epochs: readonly EpochCoverage[]): string[] {
  const items = epochs.map(
    (e) =>
      `e${e.epoch} ${e.prefix + e.subset + e.torn}` +
      (e.violated > 0 ? ` (${e.violated} violated)` : '') +
      (e.unmountable > 0 ? ` (${e.unmountable} unmountable)` : ''),
  );
  const lines: string[] = [];
  let line = '  states per epoch:';
  for (const item of items) {
    if (line.length + item.length > 150) {
      lines.push(line);
      line = '   ';
    }
    line += ` ${item}`;
  }
  lines.push(line);
  return lines;
}

/** The report of a recording's check; `complete` false for a shard or a stopped run (no verdict against the expectation). */
export function formatSummary(r: SummaryView, complete: boolean, runLine?: string): string {
  const c = r.coverage;
  const lines = [
    `${r.recording}: ${r.meta.writer.strategy}${r.meta.spec.claimStrategy ? ` claiming ${r.meta.spec.claimStrategy}` : ''} on ${r.meta.spec.fs}, ${r.meta.entries} log entries, ${r.meta.marks} marks`,
  ];
  if (c)
    lines.push(
      `  coverage: ${c.epochs} epochs (${c.exhaustiveEpochs} exhaustive, ${c.sampledEpochs} sampled), ${c.persistencePoints} persistence points; states ${c.states} = ${c.prefixStates} prefix + ${c.subsetStates} subset + ${c.tornStates} torn; ${c.duplicatesSkipped} duplicates skipped, ${c.tornNotSampled} tears not sampled`,
    );
  if (runLine !== undefined) lines.push(runLine);
  lines.push(...epochLines(r.epochs));
  lines.push(`  ${r.checked} states judged, ${r.secondLives} with a second life`);
  if (r.unmountableStates > 0) lines.push(`  ${r.unmountableStates} states the filesystem refused to mount (first ${r.unmountable[0]?.id})`);
  if (!complete) {
    lines.push(`  ${r.violatedStates > 0 ? `violated in ${r.violatedStates} states` : 'held'} in this part (the verdict is the merged one: pnpm fuzz merge)`);
  } else {
    const outcome = againstExpectation(r.meta, r.violatedStates > 0);
    lines.push(
      `  ${
        {
          held: 'held in every state',
          violated: `VIOLATED in ${r.violatedStates} states`,
          'caught-as-expected': `violated in ${r.violatedStates} states, AS EXPECTED (${r.meta.expected?.why ?? ''})`,
          missed: `MISSED: meant to be caught (${r.meta.expected?.why ?? ''}) but held in every state`,
        }[outcome.status]
      }`,
    );
  }
  for (const v of r.violations.slice(0, 5)) lines.push(`    ${v.id} (${v.lastMark ?? 'no mark'} visible): ${v.reasons.join('; ')}`);
  return `${lines.join('\n')}\n`;
}

/** The line a run adds: how many it checked, how fast, where the time went per state. */
export function runLine(r: CheckReport): string {
  const t = r.timings;
  const per = (x: number) => (r.checkedNow > 0 ? (x / r.checkedNow).toFixed(1) : '0');
  return (
    `  ${r.checkedNow} states checked in ${(t.totalMs / 1000).toFixed(1)} s with ${r.jobs} job${r.jobs === 1 ? '' : 's'} = ${r.statesPerSecond.toFixed(1)} states/s` +
    (r.resumed > 0 ? ` (${r.resumed} more already judged in the store, skipped)` : '') +
    (r.shard ? ` [shard ${r.shard.index}/${r.shard.count}]` : '') +
    `; per state: materialise ${per(t.materialiseMs)} ms, mount+umount ${per(t.mountMs)} ms, recover ${per(t.recoverMs)} ms, second lives ${per(t.secondLifeMs)} ms, judge ${per(t.judgeMs)} ms; replay ${(r.replayBytes / 2 ** 20).toFixed(1)} MiB at ${r.replayMBps.toFixed(0)} MB/s`
  );
}
