import cliProgress from 'cli-progress';

// Progress of a long state check on stderr: states done of the total, states/s, ETA and the
// violations so far. A bar on a terminal; in a CI log (no TTY) the same line every 15 s, so a
// run of an hour shows it is alive without flooding the log.

const LOG_EVERY_MS = 15_000;

export class StateProgress {
  private bar: cliProgress.SingleBar | undefined;
  private done = 0;
  private violated = 0;
  private startedAt = 0;
  private lastLog = 0;
  private total = 0;
  private label = '';

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  /** A recording's states begin: `total` in this run's part, of which `resumed` came from the store. */
  begin(label: string, total: number, resumed: number): void {
    this.label = label;
    this.total = total - resumed;
    this.done = 0;
    this.violated = 0;
    this.startedAt = Date.now();
    this.lastLog = this.startedAt;
    if (resumed > 0) this.stream.write(`${label}: ${resumed} of ${total} states already judged in the store, skipped\n`);
    if (!this.stream.isTTY) return;
    this.bar = new cliProgress.SingleBar(
      {
        stream: this.stream,
        format: '{label} [{bar}] {value}/{total} states | {rate} states/s | ETA {eta_formatted} | {violated} violated',
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(this.total, 0, { label, rate: '0.0', violated: 0 });
  }

  state(violated: boolean): void {
    this.done++;
    if (violated) this.violated++;
    const rate = this.done / Math.max((Date.now() - this.startedAt) / 1000, 1e-3);
    if (this.bar !== undefined) {
      this.bar.update(this.done, { rate: rate.toFixed(1), violated: this.violated });
      return;
    }
    const now = Date.now();
    if (now - this.lastLog < LOG_EVERY_MS) return;
    this.lastLog = now;
    const eta = (this.total - this.done) / Math.max(rate, 1e-6);
    this.stream.write(`${this.label}: ${this.done}/${this.total} states, ${rate.toFixed(1)} states/s, ETA ${Math.round(eta)} s, ${this.violated} violated\n`);
  }

  end(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
