import cliProgress from 'cli-progress';

// How a run tells the user what it is doing: a progress bar and one line per trial, on stderr
// (stdout keeps the summary table). Inside the VM the same calls become marked JSON lines on the
// console, which the host turns back into calls on its own reporter (vm-driver.ts).

/** One finished trial, as the per-trial line shows it. */
export interface TrialLine {
  strategy: string;
  /** 1-based position among the run's trials (all strategies), and the run's total. */
  position: number;
  total: number;
  index: number;
  scenario: string;
  trialSeed: number;
  status: 'held' | 'violated';
  appended: number;
  acked: number;
  recovered: number;
  lost: number;
  ackedButLost: number;
  lostBeyondContract: number;
  durationMs: number;
  reasons: string[];
  notes: string[];
  artifactDir: string | null;
}

export interface Reporter {
  begin(total: number): void;
  trial(line: TrialLine): void;
  note(text: string): void;
  end(): void;
}

/** The per-trial line, as printed. */
export function formatTrialLine(l: TrialLine): string {
  const width = String(l.total).length;
  const head = `[${String(l.position).padStart(width)}/${l.total}] ${l.strategy} trial ${l.index} ${l.scenario} (seed ${l.trialSeed})`;
  const figures = `appended ${l.appended}, acked ${l.acked}, recovered ${l.recovered}, lost ${l.lost} (acked ${l.ackedButLost}, beyond contract ${l.lostBeyondContract})`;
  const seconds = `${(l.durationMs / 1000).toFixed(1)} s`;
  const verdict = l.status === 'held' ? 'held' : `VIOLATED: ${l.reasons.join('; ')}`;
  const tail = [...l.notes.map((n) => `note: ${n}`), ...(l.artifactDir ? [`artifacts: ${l.artifactDir}`] : [])];
  return [`${head}: ${verdict} | ${figures} | ${seconds}`, ...tail.map((t) => `    ${t}`)].join('\n');
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

  trial(line: TrialLine): void {
    this.done++;
    this.print(formatTrialLine(line));
    this.bar?.update(this.done, { status: `${line.strategy} trial ${line.index}: ${line.status}` });
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

export type ProtocolMessage = { kind: 'begin'; total: number } | { kind: 'trial'; line: TrialLine } | { kind: 'note'; text: string };

/** Inside the VM: every call becomes one marked JSON line on stdout. */
export class ProtocolReporter implements Reporter {
  private send(message: ProtocolMessage): void {
    process.stdout.write(`${PROTOCOL_MARK}${JSON.stringify(message)}\n`);
  }

  begin(total: number): void {
    this.send({ kind: 'begin', total });
  }

  trial(line: TrialLine): void {
    this.send({ kind: 'trial', line });
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
