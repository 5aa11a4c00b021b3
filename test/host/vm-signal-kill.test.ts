import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readManifest } from '../../src/vm/index.js';
import { reapOrphans } from '../../src/dm/index.js';
import { spawnSync } from 'node:child_process';
import { until } from './until.js';

// The VM must never outlive the harness: not on SIGINT/SIGTERM (the cleanup stack kills qemu),
// not on SIGKILL (qemu runs under setpriv --pdeathsig KILL).
const root = join(import.meta.dirname, '..', '..');
const hasQemu = spawnSync('sh', ['-c', 'command -v qemu-system-x86_64'], { encoding: 'utf8' }).status === 0;
const why = !hasQemu ? 'qemu-system-x86_64 not installed' : !readManifest() ? 'no VM kernel cache (pnpm vm --prepare)' : undefined;

function childrenOf(pid: number): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' ');
      if (Number(fields[1]) === pid && fields[0] !== 'Z') out.push({ pid: Number(d), comm: stat.slice(stat.indexOf('(') + 1, close) });
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe.skipIf(why !== undefined)(`the VM dies with its harness${why ? ` (skipped: ${why})` : ''}`, () => {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGKILL'] as const) {
    it(`${signal} to pnpm vm kills qemu`, async () => {
      // node --import tsx: one process, so qemu's parent is the process we signal.
      const harness = spawn(process.execPath, ['--import', 'tsx', 'src/cli/vm.ts', '--', 'sleep', '600'], { cwd: root, stdio: 'ignore' });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => harness.on('exit', (_c, s) => resolve(s)));
      let qemu: number | undefined;
      expect(await until(() => (qemu = childrenOf(harness.pid!).find((c) => c.comm.startsWith('qemu'))?.pid) !== undefined, 30_000), 'qemu never started').toBe(
        true,
      );
      await new Promise((r) => setTimeout(r, 1000));
      harness.kill(signal);
      expect(await exited).toBe(signal);
      expect(await until(() => !alive(qemu!), 10_000), `qemu ${qemu} outlived the harness`).toBe(true);
      // After SIGKILL the harness's job directory is left for the reaper, as designed.
      if (signal === 'SIGKILL') expect((await reapOrphans()).flatMap((r) => r.failures)).toEqual([]);
    });
  }
});
