import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Suites start their own redis-server and HTTP servers on free ports; two workers fit a 2-core machine.
    pool: 'forks',
    maxWorkers: 2,
  },
});
