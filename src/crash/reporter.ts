import cliProgress from 'cli-progress';
import type { TargetVerdict } from '../oracle/target-verdict.js';
import { subjectLabel, type TrialOutcome, type TrialPosition, type WalTrialOutcome } from './outcome.js';

// How a run tells the user what it is doing: a progress bar and one line per trial, on stderr
// (stdout keeps the summary table). Inside the VM the same calls become marked JSON lines on the
// console, which the host turns back into calls on its own reporter (vm-driver.ts).

export interface Reporter {
  begin(total: number): void;
  trial(outcome: TrialOutcome, at: TrialPosition): void;
  note(text: string): void;
  end(): void;
}

/** The per-trial line, as printed. */
export function formatTrialLine(l: TrialOutcome, at: TrialPosition): string {
  const width = String(at.total).length;
  const head = `[${String(at.position).padStart(width)}/${at.total}] ${subjectLabel(l)} trial ${l.index} ${l.scenario} (seed ${l.trialSeed})`;
  const figures = l.target === undefined ? walFigures(l.verdict.loss) : targetFigures(l.target.verdict);
  const seconds = `${(l.durationMs / 1000).toFixed(1)} s`;
  const verdict = l.status === 'held' ? 'held' : `${l.status === 'fs-failed' ? 'FILESYSTEM FAILED' : 'VIOLATED'}: ${l.reasons.join('; ')}`;
  const tail = [...l.notes.map((n) => `note: ${n}`), ...(l.artifactDir ? [`artifacts: ${l.artifactDir}`] : [])];
  return [`${head}: ${verdict} | ${figures} | ${seconds}`, ...tail.map((t) => `    ${t}`)].join('\n');
}

function walFigures(loss: WalTrialOutcome['verdict']['loss']): string {
  return `appended ${loss.appended}, acked ${loss.acked}, recovered ${loss.recovered}, lost ${loss.lost} (acked ${loss.ackedButLost}, beyond contract ${loss.lostBeyondContract})`;
}

function targetFigures(v: TargetVerdict): string {
  const l = v.loss;
  const corrupt = v.corruption === null ? '' : `, damaged: ${v.corruption}`;
  return `written ${l.written}, acked ${l.acked}, survived ${l.survived}, acked-but-lost ${l.ackedButLost} (beyond contract ${l.lostBeyondContract}, allowed ${l.allowedLoss}), phantoms ${l.phantoms}${corrupt}`;
}

/** Bar and lines on stderr; without a terminal, only the lines (a bar would be noise in a log). */
export class ConsoleReporter implements Reporter {
  private multibar: cliProgress.MultiBar | undefined;
  private bar: cliProgress.SingleBar | undefined;
  private done = 0;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  begin(total: number): void {
    if (!this.stream.isTTY) return;
    this.multibar = new cliProgress.MultiBar(
      { stream: this.stream, format: 'crashtest [{bar}] {value}/{total} trials | {status}', hideCursor: true, clearOnComplete: true },
      cliProgress.Presets.shades_classic,
    );
    this.bar = this.multibar.create(total, 0, { status: 'starting' });
  }

  private print(text: string): void {
    if (this.multibar) this.multibar.log(`${text}\n`);
    else this.stream.write(`${text}\n`);
  }

  trial(outcome: TrialOutcome, at: TrialPosition): void {
    this.done++;
    this.print(formatTrialLine(outcome, at));
    this.bar?.update(this.done, { status: `${subjectLabel(outcome)} trial ${outcome.index}: ${outcome.status}` });
  }

  note(text: string): void {
    this.print(text);
  }

  end(): void {
    this.multibar?.stop();
    this.multibar = undefined;
  }
}

/** The marker of protocol lines a run inside the VM prints for the host. */
export const PROTOCOL_MARK = '@@crashtest ';

export type ProtocolMessage = { kind: 'begin'; total: number } | { kind: 'trial'; outcome: TrialOutcome; at: TrialPosition } | { kind: 'note'; text: string };

/** Inside the VM: every call becomes one marked JSON line on stdout. */
export class ProtocolReporter implements Reporter {
  private send(message: ProtocolMessage): void {
    process.stdout.write(`${PROTOCOL_MARK}${JSON.stringify(message)}\n`);
  }

  begin(total: number): void {
    this.send({ kind: 'begin', total });
  }

  trial(outcome: TrialOutcome, at: TrialPosition): void {
    this.send({ kind: 'trial', outcome, at });
  }

  note(text: string): void {
    this.send({ kind: 'note', text });
  }

  end(): void {}
}

/** Parse one console line from the VM: a protocol message, or null for ordinary output. */
export function parseProtocolLine(text: string): ProtocolMessage | null {
  const at = text.indexOf(PROTOCOL_MARK);
  if (at < 0) return null;
  try {
    const value = JSON.parse(text.slice(at + PROTOCOL_MARK.length)) as ProtocolMessage;
    if (value.kind === 'begin' || value.kind === 'trial' || value.kind === 'note') return value;
  } catch {
    // a console line cut by something else printing: the results file is authoritative anyway
  }
  return null;
}
