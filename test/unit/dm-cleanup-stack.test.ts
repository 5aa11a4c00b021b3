import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CleanupStack, reapOrphans, withCleanup } from '../../src/dm/index.js';
import { processStartTime } from '../../src/dm/resource.js';

// Files, directories and processes need no root, so the stack's ordering, ledger and signal
// behaviour are tested here on the host; loop/dm/mount release runs in test/integration.
let dir = '';
const root = join(import.meta.dirname, '..', '..');

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'powercut-stack-test-'));
  process.env.POWERCUT_LEDGER_DIR = join(dir, 'ledger');
});
afterEach(() => {
  delete process.env.POWERCUT_LEDGER_DIR;
  rmSync(dir, { recursive: true, force: true });
});

function ledgers(): string[] {
  const d = join(dir, 'ledger');
  return existsSync(d) ? readdirSync(d) : [];
}

describe('CleanupStack', () => {
  it('releases in reverse order and keeps a ledger only while it holds something', async () => {
    const stack = new CleanupStack();
    const sub = join(dir, 'lab');
    stack.add({ kind: 'dir', path: sub });
    mkdirSync(sub);
    const file = join(sub, 'image');
    stack.add({ kind: 'file', path: file });
    writeFileSync(file, 'x');
    expect(ledgers()).toHaveLength(1);
    const ledger = JSON.parse(readFileSync(join(dir, 'ledger', ledgers()[0]!), 'utf8')) as { resources: unknown[] };
    expect(ledger.resources).toEqual([
      { kind: 'dir', path: sub },
      { kind: 'file', path: file },
    ]);
    await stack.unwind();
    expect(existsSync(sub)).toBe(false);
    expect(ledgers()).toEqual([]);
    await stack.unwind(); // twice is harmless
  });

  it('treats a resource registered before it was made, and never made, as released', async () => {
    await withCleanup(async (stack) => {
      stack.add({ kind: 'file', path: join(dir, 'never-created') });
      stack.add({ kind: 'dir', path: join(dir, 'never-created-dir') });
    });
    expect(ledgers()).toEqual([]);
  });

  it('kills a registered process and unwinds when the work throws', async () => {
    const child = spawn('sleep', ['600'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, s) => r(s)));
    await expect(
      withCleanup(async (stack) => {
        stack.add({ kind: 'process', pid: child.pid!, startTime: processStartTime(child.pid!)!, label: 'sleep' });
        throw new Error('work failed');
      }),
    ).rejects.toThrow('work failed');
    expect(await exited).toBe('SIGKILL');
  });

  it('a process registered as a group leader takes its children with it (a target run command)', async () => {
    // sh keeps running after starting its child, as `sh -c 'a; b'` does: killing sh alone would
    // leave the sleep holding whatever it had open.
    const pidFile = join(dir, 'grandchild.pid');
    const child = spawn('sh', ['-c', `sleep 600 & echo $! > ${pidFile}; wait`], { stdio: 'ignore', detached: true });
    const until = Date.now() + 10_000;
    while (!existsSync(pidFile) || readFileSync(pidFile, 'utf8').trim() === '') {
      if (Date.now() > until) throw new Error('the grandchild never started');
      await new Promise((r) => setTimeout(r, 20));
    }
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    const grandchildStart = processStartTime(grandchild);
    expect(grandchildStart).toBeDefined();
    const stack = new CleanupStack();
    stack.add({ kind: 'process', pid: child.pid!, startTime: processStartTime(child.pid!)!, label: 'sh', group: true });
    await stack.unwind();
    expect(processStartTime(grandchild)).not.toBe(grandchildStart);
  });

  it('refuses new registrations once unwinding', async () => {
    const stack = new CleanupStack();
    stack.add({ kind: 'file', path: join(dir, 'a') });
    const unwinding = stack.unwind();
    expect(() => stack.add({ kind: 'file', path: join(dir, 'b') })).toThrow(/already unwinding/);
    await unwinding;
  });

  it('a process registered while unwinding (started as a signal arrived) is killed, not left running', async () => {
    const stack = new CleanupStack();
    stack.add({ kind: 'file', path: join(dir, 'a') });
    const unwinding = stack.unwind();
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    expect(() => stack.add({ kind: 'process', pid: child.pid!, startTime: processStartTime(child.pid!)!, label: 'late writer' })).toThrow(/already unwinding/);
    expect(await exited).toBe('SIGKILL');
    await unwinding;
  });

  it('reaps what a dead process registered, and leaves a live process alone', async () => {
    const ledgerDir = join(dir, 'ledger');
    mkdirSync(ledgerDir, { recursive: true });
    const deadFile = join(dir, 'dead-image');
    writeFileSync(deadFile, 'x');
    // A pid that exited: spawnSync waits for it.
    const dead = spawnSync('true').pid;
    writeFileSync(join(ledgerDir, `${dead}-1.json`), JSON.stringify({ pid: dead, startTime: '1', resources: [{ kind: 'file', path: deadFile }] }));
    const liveFile = join(dir, 'live-image');
    writeFileSync(liveFile, 'x');
    writeFileSync(
      join(ledgerDir, `${process.pid}-99.json`),
      JSON.stringify({ pid: process.pid, startTime: processStartTime(process.pid), resources: [{ kind: 'file', path: liveFile }] }),
    );
    const reaped = await reapOrphans();
    expect(reaped).toEqual([{ pid: dead, released: [`image ${deadFile}`], failures: [] }]);
    expect(existsSync(deadFile)).toBe(false);
    expect(existsSync(liveFile)).toBe(true);
    expect(ledgers()).toEqual([`${process.pid}-99.json`]);
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`on ${signal}: releases everything, then dies of the signal`, async () => {
      const file = join(dir, 'held');
      const script = `
        import { writeFileSync } from 'node:fs';
        import { CleanupStack } from './src/dm/cleanup-stack.ts';
        const stack = new CleanupStack();
        stack.add({ kind: 'file', path: ${JSON.stringify(file)} });
        writeFileSync(${JSON.stringify(file)}, 'x');
        process.stdout.write('ready\\n');
        setInterval(() => {}, 1000);`;
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, POWERCUT_LOG_LEVEL: 'error' },
      });
      await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()));
      const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, s) => r(s)));
      child.kill(signal);
      expect(await exited).toBe(signal);
      expect(existsSync(file)).toBe(false);
      expect(ledgers()).toEqual([]);
    });
  }
});
