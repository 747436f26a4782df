import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** One vitest configuration for every package: workspace imports resolve to source, not dist. */
export default defineConfig({
  resolve: {
    // `@tunekit/<package>` → packages/<package>/src/index.ts and `@tunekit/<package>/<subpath>` →
    // packages/<package>/src/<subpath>/index.ts: the convention every package.json `exports` follows
    // (tests/api-report/api-report.ts reads the entry points the same way).
    alias: [
      { find: /^@tunekit\/([a-z-]+)$/, replacement: source('./packages/$1/src/index.ts') },
      { find: /^@tunekit\/([a-z-]+)\/([a-z-]+)$/, replacement: source('./packages/$1/src/$2/index.ts') },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'tests/**/*.test.ts', 'examples/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
