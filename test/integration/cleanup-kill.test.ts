import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findLeftovers, reapOrphans } from '../../src/dm/index.js';
import { dmUnavailable } from './dm-precondition.js';

const why = await dmUnavailable(['flakey']);
const root = join(import.meta.dirname, '..', '..');

// Seeded, so a failing moment can be replayed: POWERCUT_SEED=<n>.
const seed = Number(process.env.POWERCUT_SEED ?? Date.now() % 100000);
let state = seed;
function random(): number {
  state = (state * 1103515245 + 12345) % 2147483648;
  return state / 2147483648;
}

interface Harness {
  child: ChildProcess;
  events: { event: string; [k: string]: unknown }[];
  waitFor(event: string): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

let bundle = '';
let workDir = '';

function startHarness(mode: 'run' | 'suspend'): Harness {
  const child = spawn('node', [bundle, workDir, mode], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, POWERCUT_LOG_LEVEL: 'error' } });
  const events: Harness['events'] = [];
  const waiters: { event: string; resolve: () => void }[] = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const e = JSON.parse(buf.slice(0, nl)) as Harness['events'][number];
      buf = buf.slice(nl + 1);
      events.push(e);
      for (const w of waiters.filter((x) => x.event === e.event)) w.resolve();
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    events,
    exited,
    waitFor: (event) =>
      events.some((e) => e.event === event)
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            waiters.push({ event, resolve });
            void exited.then(() => reject(new Error(`harness exited before "${event}"`)));
          }),
  };
}

function alive(pid: number): boolean {
  try {
    // A zombie is dead for our purposes: it holds no device.
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function expectNothingOfOurs(h: Harness): Promise<void> {
  const left = await findLeftovers();
  expect(left, `seed ${seed}, events ${h.events.map((e) => e.event).join(',')}`).toEqual({ dmDevices: [], loopDevices: [], mounts: [] });
  const writer = h.events.find((e) => e.event === 'running')?.writer;
  if (typeof writer === 'number') expect(alive(writer), `writer ${writer} still running`).toBe(false);
  const lab = h.events.find((e) => e.event === 'lab')?.dir;
  if (typeof lab === 'string') expect(existsSync(lab), `lab dir ${lab} left behind`).toBe(false);
}

describe.skipIf(why !== undefined)(`cleanup when the harness is killed${why ? ` (skipped: ${why})` : ''}`, () => {
  // Measured by the first test (a full setup), used by the others to aim kills inside setup.
  let setupMs = 3000;

  beforeAll(async () => {
    workDir = mkdtempSync('/tmp/powercut-cleanup-test-');
    // Bundle the harness once: starting tsx costs several seconds per process under TCG, and
    // this test starts several harnesses. esbuild comes with tsx.
    const esbuild = createRequire(createRequire(join(root, 'package.json')).resolve('tsx/package.json'))('esbuild') as typeof import('esbuild');
    bundle = join(root, 'node_modules', '.cache', 'powercut', 'cleanup-harness.mjs');
    await esbuild.build({
      entryPoints: [join(import.meta.dirname, 'fixtures', 'cleanup-harness.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      outfile: bundle,
      logLevel: 'error',
    });
  });

  it('SIGTERM during a run (writer active) leaves nothing behind', async () => {
    const h = startHarness('run');
    await h.waitFor('running');
    const ms = (event: string) => Number(h.events.find((e) => e.event === event)?.ms);
    setupMs = ms('running') - ms('lab');
    console.log(`cleanup-kill: seed ${seed}, harness setup takes ${setupMs} ms (${h.events.map((e) => `${e.event}@${String(e.ms)}`).join(' ')})`);
    await new Promise((r) => setTimeout(r, random() * 1000));
    h.child.kill('SIGTERM');
    expect((await h.exited).signal).toBe('SIGTERM');
    await expectNothingOfOurs(h);
  });

  afterAll(() => {
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} at a random moment during setup leaves nothing behind`, async () => {
      const h = startHarness('run');
      await h.waitFor('lab');
      await new Promise((r) => setTimeout(r, random() * setupMs));
      h.child.kill(signal);
      // The handlers are installed from 'lab' on: the process must die of the re-raised signal
      // after cleaning up, never exit normally (an exit would mean it stopped halfway).
      expect((await h.exited).signal).toBe(signal);
      await expectNothingOfOurs(h);
    });
  }

  it('SIGTERM while the flakey device is suspended: resumed, unmounted, removed', async () => {
    const h = startHarness('suspend');
    await h.waitFor('suspended');
    h.child.kill('SIGTERM');
    expect((await h.exited).signal).toBe('SIGTERM');
    await expectNothingOfOurs(h);
  });

  it('SIGKILL at random moments: the ledger lets reapOrphans release everything', async () => {
    for (let i = 0; i < 2; i++) {
      const h = startHarness(i === 1 ? 'suspend' : 'run');
      await h.waitFor('lab');
      await new Promise((r) => setTimeout(r, random() * setupMs * 1.3));
      h.child.kill('SIGKILL');
      await h.exited;
      const reaped = await reapOrphans();
      expect(reaped.flatMap((r) => r.failures)).toEqual([]);
      await expectNothingOfOurs(h);
    }
  });
});
