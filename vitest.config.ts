import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** One vitest configuration for every package: workspace imports resolve to source, not dist. */
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@tunekit\/core\/testing$/, replacement: source('./packages/core/src/testing/index.ts') },
      { find: /^@tunekit\/core$/, replacement: source('./packages/core/src/index.ts') },
      { find: /^@tunekit\/trainer$/, replacement: source('./packages/trainer/src/index.ts') },
      { find: /^@tunekit\/registry$/, replacement: source('./packages/registry/src/index.ts') },
      {
        find: /^@tunekit\/server-adapter\/client$/,
        replacement: source('./packages/server-adapter/src/client/index.ts'),
      },
      {
        find: /^@tunekit\/server-adapter\/ai-provider$/,
        replacement: source('./packages/server-adapter/src/ai-provider/index.ts'),
      },
      {
        find: /^@tunekit\/server-adapter\/cli$/,
        replacement: source('./packages/server-adapter/src/cli/index.ts'),
      },
      { find: /^@tunekit\/server-adapter$/, replacement: source('./packages/server-adapter/src/index.ts') },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'tests/**/*.test.ts', 'examples/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
