import { defineConfig } from 'vitest/config';

// test/integration needs root and real device-mapper: scripts/test-integration.sh runs it inside
// the microVM. One worker, files in sequence: the VM has 2 slow (TCG) CPUs, every extra worker
// pays vitest's start-up again, and the cleanup tests count devices machine-wide.
export default defineConfig({
  test: {
    include: ['test/integration/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    pool: 'forks',
    poolOptions: { forks: { singleFork: true } },
    fileParallelism: false,
  },
});
