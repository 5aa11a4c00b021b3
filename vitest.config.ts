import { defineConfig } from 'vitest/config';

// Unit, property and addon tests run on the host. test/integration needs real device-mapper and
// runs inside the microVM (scripts/test.sh starts it), so it is excluded here.
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/property/**/*.test.ts', 'test/native/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
