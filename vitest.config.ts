import { defineConfig } from 'vitest/config';

// A test's folder says what it needs: unit/ (nothing but Node), property/ (fast-check, pure),
// addon/ (the built native addon), host/ (root, loop devices, mkfs, qemu or strace on
// this machine). They all run on the host. test/integration needs real device-mapper and runs
// inside the microVM (scripts/test.sh starts it), so it is excluded here.
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/property/**/*.test.ts', 'test/addon/**/*.test.ts', 'test/host/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
