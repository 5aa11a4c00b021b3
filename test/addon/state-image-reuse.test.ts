import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OpenRecording } from '../../src/crash/explore/check-states.js';
import { enumerateStates, StateMaterialiser } from '../../src/dm/log-writes/index.js';

// A checker's slot rebuilds each state image in place from the previous one (native
// restoreFromBase, powercut_mount.node), whatever a mount wrote into it meanwhile. The rebuilt
// image must be the fresh image byte for byte: here a mount's writes are played by scribbling
// over random blocks (inside the base's data and in its holes, past the last block too) between
// the states of a committed recording, and every rebuilt image is compared with a fresh one.

const dir = join(import.meta.dirname, '../fixtures/recordings/ext4-fdatasync');
const work = mkdtempSync('/dev/shm/powercut-reuse-test-');
afterAll(() => rmSync(work, { recursive: true, force: true }));

function digest(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

// A seeded generator, so a failure names the same scribbles every run.
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('state images rebuilt in place', () => {
  it('equal a fresh image of each state after a mount-like scribble over the previous one', async () => {
    const rec = new OpenRecording(dir);
    const fresh = new StateMaterialiser(rec.index, rec.meta.deviceBytes, work);
    const reused = new StateMaterialiser(rec.index, rec.meta.deviceBytes, work);
    try {
      const states = [...enumerateStates(rec.index, { afterMark: 'mkfs' })].filter((_, i) => i % 29 === 0);
      expect(states.length).toBeGreaterThan(20);
      const next = random(15);
      const size = rec.meta.deviceBytes;
      const image = join(work, 'slot.img');
      for (const state of states) {
        reused.materialise(state, image, { reuse: true });
        fresh.materialise(state, join(work, 'fresh.img'));
        expect(statSync(image).size).toBe(size);
        expect(digest(image), state.id).toBe(digest(join(work, 'fresh.img')));
        const fd = openSync(image, 'r+');
        for (let k = 0; k < 24; k++) writeSync(fd, Buffer.alloc(1 + Math.floor(next() * 6000), 0x5a + k), 0, undefined, Math.floor(next() * size));
        closeSync(fd);
        // Synchronous work of seconds would starve the test runner's own messages.
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(reused.reuseStats.images).toBe(states.length - 1);
      expect(reused.reuseStats.copied).toBeGreaterThan(0);
      expect(reused.reuseStats.punched).toBeGreaterThan(0);
    } finally {
      fresh.close();
      reused.close();
      rec.close();
    }
  }, 120_000);
});
