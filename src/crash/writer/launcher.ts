import type { DeviceLab, Registration } from '../../dm/index.js';
import type { WriterConfig } from '../../workload/writer-config.js';
import { WriterChild } from './child.js';

// Starts the trials' writers. A writer process takes a second or more to start under TCG, so the
// next trial's writer is started while the current trial is still remounting and recovering
// (warm()), and handed its configuration when that trial begins (launch()). Every writer is on
// the lab's cleanup stack from the moment it exists, idle or not.

export interface LaunchedWriter {
  child: WriterChild;
  /** Its cleanup registration: forget it once the writer has been killed and reaped. */
  registration: Registration;
}

export class WriterLauncher {
  private idle: LaunchedWriter | undefined;

  constructor(
    private readonly bundle: string,
    private readonly lab: DeviceLab,
  ) {}

  private track(child: WriterChild): LaunchedWriter {
    return { child, registration: this.lab.trackProcess(child.pid, 'writer') };
  }

  /** A writer running `config`: the warmed-up one if it is still alive, else a fresh one. */
  launch(config: WriterConfig): LaunchedWriter {
    const idle = this.idle;
    this.idle = undefined;
    if (idle !== undefined) {
      if (idle.child.start(config)) return idle;
      void this.discard(idle);
    }
    return this.track(WriterChild.spawn(this.bundle, config));
  }

  /** Start the next writer now, so it is loaded when the next trial begins. */
  warm(): void {
    if (this.idle === undefined) this.idle = this.track(WriterChild.spawnIdle(this.bundle));
  }

  private async discard(launched: LaunchedWriter): Promise<void> {
    await launched.child.kill();
    this.lab.stack.forget(launched.registration);
  }

  /** Kill a writer that was warmed up but never used. */
  async dispose(): Promise<void> {
    const idle = this.idle;
    this.idle = undefined;
    if (idle !== undefined) await this.discard(idle);
  }
}
