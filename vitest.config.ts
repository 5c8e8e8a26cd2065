import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Suites start their own redis-server and HTTP servers on free ports; two workers fit a 2-core machine.
    // Forked workers, not threads: NODE_EXTRA_CA_CERTS (set by the global setup) is read only when a process starts.
    pool: 'forks',
    maxWorkers: 2,
    globalSetup: ['tests/support/global-setup.ts'],
  },
});
