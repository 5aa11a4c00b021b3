import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACT_FILES, copySparse, saveFlakeyArtifacts } from '../../src/crash/artifacts.js';
import { bundleCrashtest, removeBundles, useAddonSnapshot, type Bundles } from '../../src/crash/bundle.js';
import { recheck } from '../../src/crash/recheck.js';
import { recoverWal } from '../../src/crash/writer/recover.js';
import type { TrialResult } from '../../src/crash/flakey/trial.js';
import type { SavedLives } from '../../src/crash/flakey/lives.js';
import type { TrialPlan } from '../../src/crash/plan/trial-plan.js';
import type { Recovery } from '../../src/crash/writer/recover.js';
import { planTrial } from '../../src/crash/plan/trial-plan.js';
import { findScenario } from '../../src/crash/plan/registry.js';
import { WriterChild } from '../../src/crash/writer/child.js';
import { judgeCrash } from '../../src/oracle/index.js';
import { parseEvents } from '../../src/workload/events.js';
import { parseWriterConfig, WRITER_DEFAULTS, type WriterConfig } from '../../src/workload/writer-config.js';

// An artifact directory made from a real writer run (killed mid-stream, no device-mapper needed),
// then judged again by `recheck`: as saved it holds; with acknowledged entries removed from what
// recovery returned, the oracle says which were lost.

const addon = path.resolve('native/build/Release/powercut_wal.node');
const why = existsSync(addon) ? undefined : `the WAL addon is not built (${addon})`;

// The trial result a flakey trial would hand to saveFlakeyArtifacts, made from a real writer run.
function trialResult(
  plan: TrialPlan,
  writer: WriterConfig,
  run: { rawEvents: string; judgedEvents: string; recovery: Extract<Recovery, { status: 'recovered' }>; walCopy: string; lives: SavedLives | null },
): TrialResult {
  const verdict = judgeCrash({ history: parseEvents(run.judgedEvents).events, recovered: run.recovery.entries });
  return {
    outcome: {
      mode: 'flakey',
      strategy: 'fdatasync',
      groupCommit: false,
      scenario: plan.scenario,
      index: plan.index,
      trialSeed: plan.trialSeed,
      status: verdict.status,
      verdict,
      recovery: { status: 'recovered', entries: run.recovery.entries.length, corruption: run.recovery.corruption },
      reasons: [],
      notes: [],
      timeline: [{ atMs: 0, what: 'writer start' }],
      durationMs: 1,
      artifactDir: null,
    },
    evidence: {
      plan,
      writer,
      recovered: run.recovery.entries,
      tables: [],
      rawEvents: run.rawEvents,
      writerStderr: '',
      writerExit: { code: null, signal: 'SIGKILL' },
      walCopy: run.walCopy,
      lives: run.lives,
    },
  };
}

describe('copySparse', () => {
  it('copies the bytes and leaves holes where the source has zero blocks', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'powercut-sparse-'));
    try {
      const from = path.join(dir, 'from');
      const data = Buffer.alloc(4 << 20);
      data.write('head', 0);
      data.write('tail', data.length - 4);
      writeFileSync(from, data);
      const to = path.join(dir, 'to');
      expect(copySparse(from, to)).toBe(2 * 64 * 1024);
      expect(readFileSync(to).equals(data)).toBe(true);
      expect(statSync(to).blocks * 512).toBeLessThan(data.length / 4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(why !== undefined)(`crashtest recheck${why ? ` (skipped: ${why})` : ''}`, () => {
  let bundles: Bundles;
  let restoreEnv = (): void => {};
  let work: string;
  let artifact: string;

  beforeAll(async () => {
    bundles = await bundleCrashtest();
    restoreEnv = useAddonSnapshot(bundles);
    work = mkdtempSync(path.join(tmpdir(), 'powercut-recheck-test-'));
    const plan = planTrial(3, 0, 'fdatasync', false, [findScenario('random-cut')!]);
    const walDir = path.join(work, 'wal');
    // The WAL opens an existing, empty directory.
    mkdirSync(walDir);
    const writer = parseWriterConfig({ ...WRITER_DEFAULTS, ...plan.workload, dir: walDir, strategy: 'fdatasync', seed: plan.trialSeed });
    const child = WriterChild.spawn(bundles.writer, writer);
    await child.waitFor({ kind: 'acked', count: 40 }, 20_000);
    await child.freeze();
    const raw = await child.kill();
    const walCopy = path.join(work, 'wal-copy');
    cpSync(walDir, walCopy, { recursive: true });
    const recovery = await recoverWal(walDir, { strategy: 'fdatasync', segmentSize: writer.segmentSize });
    if (recovery.status !== 'recovered') throw new Error(recovery.message);
    const result = trialResult(plan, writer, { rawEvents: raw, judgedEvents: raw, recovery, walCopy, lives: null });
    artifact = path.join(work, 'artifact');
    saveFlakeyArtifacts(artifact, {
      ...result,
      commands: { run: 'sudo pnpm crashtest --strategy fdatasync --seed 3', replay: 'sudo pnpm crashtest --strategy fdatasync --seed 3 --trial 0' },
    });
  });

  afterAll(() => {
    restoreEnv();
    if (bundles) removeBundles(bundles);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('writes every artifact file of a flakey trial', () => {
    const targetOnly: string[] = [ARTIFACT_FILES.check, ARTIFACT_FILES.data, ARTIFACT_FILES.data2];
    // fsck.txt: only a filesystem without a journal runs fsck before the mount.
    const noJournalOnly: string[] = [ARTIFACT_FILES.fsck];
    const recordingOnly: string[] = [
      ARTIFACT_FILES.image,
      ARTIFACT_FILES.recording,
      ARTIFACT_FILES.states,
      ARTIFACT_FILES.firstLife,
      ...targetOnly,
      ...noJournalOnly,
    ];
    for (const name of Object.values(ARTIFACT_FILES)) if (!recordingOnly.includes(name)) expect(existsSync(path.join(artifact, name))).toBe(true);
    expect(readFileSync(path.join(artifact, ARTIFACT_FILES.command), 'utf8')).toContain('--trial 0');
  });

  it('holds as saved, judging the reopened WAL, which returns what the trial saw', async () => {
    const r = await recheck(artifact);
    expect(r).toMatchObject({ status: 'held', source: 'wal-reopened', matchesSavedList: true, savedStatus: 'held' });
    expect(r.verdict.loss.acked).toBeGreaterThanOrEqual(40);
  });

  it('finds the acknowledged entries a tampered recovered list lacks (no WAL to reopen)', async () => {
    const tampered = path.join(work, 'tampered');
    cpSync(artifact, tampered, { recursive: true });
    rmSync(path.join(tampered, ARTIFACT_FILES.wal), { recursive: true });
    const lines = readFileSync(path.join(tampered, ARTIFACT_FILES.recovered), 'utf8').trim().split('\n');
    writeFileSync(path.join(tampered, ARTIFACT_FILES.recovered), `${lines.slice(0, 10).join('\n')}\n`);
    const r = await recheck(tampered);
    expect(r.status).toBe('violated');
    expect(r.source).toBe('saved-list');
    expect(r.reasons.join(' ')).toMatch(/durability: \d+ required entries missing \(first: 11, 12/);
    // And through the command line: exit 1 for a violation.
    const cli = spawnSync(path.resolve('node_modules/.bin/tsx'), ['src/cli/crashtest.ts', 'recheck', tampered], { encoding: 'utf8' });
    expect(cli.status).toBe(1);
    expect(cli.stdout).toMatch(/verdict: VIOLATED/);
  });

  // A second life: the first writer killed, the WAL recovered, a second writer appending after it
  // and killed too. recheck must judge the lives apart, as the trial does (first-life.json).
  describe('a two-life artifact', () => {
    let twoLives: string;

    beforeAll(async () => {
      const plan = planTrial(4, 0, 'fdatasync', false, [findScenario('second-life')!]);
      const walDir = path.join(work, 'wal-two');
      mkdirSync(walDir);
      const writer = parseWriterConfig({ ...WRITER_DEFAULTS, ...plan.workload, dir: walDir, strategy: 'fdatasync', seed: plan.trialSeed });
      const life = async (): Promise<string> => {
        const child = WriterChild.spawn(bundles.writer, writer);
        await child.waitFor({ kind: 'acked', count: 20 }, 20_000);
        await child.freeze();
        return child.kill();
      };
      const firstRaw = await life();
      const first = await recoverWal(walDir, { strategy: 'fdatasync', segmentSize: writer.segmentSize });
      if (first.status !== 'recovered') throw new Error(first.message);
      const secondRaw = await life();
      const walCopy = path.join(work, 'wal-two-copy');
      cpSync(walDir, walCopy, { recursive: true });
      const final = await recoverWal(walDir, { strategy: 'fdatasync', segmentSize: writer.segmentSize });
      if (final.status !== 'recovered') throw new Error(final.message);
      twoLives = path.join(work, 'artifact-two-lives');
      const lives: SavedLives = { first: { rawEvents: firstRaw, recovery: { status: 'recovered', entries: first.entries } }, secondJudged: true };
      saveFlakeyArtifacts(twoLives, {
        ...trialResult(plan, writer, { rawEvents: firstRaw + secondRaw, judgedEvents: secondRaw, recovery: final, walCopy, lives }),
        commands: { run: 'sudo pnpm crashtest --strategy fdatasync --seed 4', replay: 'sudo pnpm crashtest --strategy fdatasync --seed 4 --trial 0' },
      });
    });

    it('holds as saved, the second life judged against the reopened WAL', async () => {
      expect(existsSync(path.join(twoLives, ARTIFACT_FILES.firstLife))).toBe(true);
      const r = await recheck(twoLives);
      expect(r).toMatchObject({ status: 'held', source: 'wal-reopened', matchesSavedList: true });
    });

    it("names the second life when the final recovery lacks what the first life's recovery returned", async () => {
      const tampered = path.join(work, 'two-lives-tampered-final');
      cpSync(twoLives, tampered, { recursive: true });
      rmSync(path.join(tampered, ARTIFACT_FILES.wal), { recursive: true });
      const lines = readFileSync(path.join(tampered, ARTIFACT_FILES.recovered), 'utf8').trim().split('\n');
      writeFileSync(path.join(tampered, ARTIFACT_FILES.recovered), `${lines.slice(0, 5).join('\n')}\n`);
      const r = await recheck(tampered);
      expect(r.status).toBe('violated');
      expect(r.reasons.join(' ')).toMatch(/^second life: durability/);
    });

    it("names the first life when the first life's saved recovery lost acknowledged entries", async () => {
      const tampered = path.join(work, 'two-lives-tampered-first');
      cpSync(twoLives, tampered, { recursive: true });
      const file = path.join(tampered, ARTIFACT_FILES.firstLife);
      const saved = JSON.parse(readFileSync(file, 'utf8')) as { first: { recovery: { entries: unknown[] } } };
      saved.first.recovery.entries = saved.first.recovery.entries.slice(0, 3);
      writeFileSync(file, JSON.stringify(saved));
      const r = await recheck(tampered);
      expect(r.status).toBe('violated');
      expect(r.reasons.join(' ')).toMatch(/^first life: durability: \d+ required entries missing \(first: 4,/);
    });

    it('refuses a first-life.json whose events are not where history.ndjson begins', async () => {
      const tampered = path.join(work, 'two-lives-mismatch');
      cpSync(twoLives, tampered, { recursive: true });
      const file = path.join(tampered, ARTIFACT_FILES.firstLife);
      const saved = JSON.parse(readFileSync(file, 'utf8')) as { first: { rawEvents: string } };
      saved.first.rawEvents = `{"type":"nonsense"}\n${saved.first.rawEvents}`;
      writeFileSync(file, JSON.stringify(saved));
      await expect(recheck(tampered)).rejects.toThrow(/does not begin with the first life's events/);
    });
  });
});
