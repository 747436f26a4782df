import { readFileSync } from 'node:fs';
import { defineConfig, type Options } from 'tsup';

/** Native modules and heavy runtimes stay external: they are loaded lazily at run time. */
const external = [
  'onnxruntime-node',
  'hnswlib-node',
  'better-sqlite3',
  'sqlite3',
  '@huggingface/transformers',
  /^@tunekit\//,
  // Storage adapters and their drivers load lazily; vitest is a peer dependency of @tunekit/core/testing.
  /^@keyv\//,
  'pg',
  'vitest',
];

/** A package's own dependencies stay external (npm installs them), with their subpath imports. */
function dependenciesOf(directory: string): RegExp[] {
  const manifest = JSON.parse(readFileSync(`packages/${directory}/package.json`, 'utf8')) as {
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
  };
  const names = Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies });
  return names.map((name) => new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(/.*)?$`));
}

function packageBuild(directory: string, entry: Record<string, string>): Options {
  return {
    entry,
    outDir: `packages/${directory}/dist`,
    format: ['esm', 'cjs'],
    dts: { compilerOptions: { composite: false } },
    tsconfig: 'tsconfig.build.json',
    // No source maps in the packages: they were 60% of the unpacked size and carried the sources again;
    // the published .js is unminified ESM/CJS, readable as it is.
    sourcemap: false,
    clean: true,
    target: 'node20',
    platform: 'node',
    splitting: false,
    // import.meta.url in the CJS output (the trainer resolves its worker file with it).
    shims: true,
    external: [...external, ...dependenciesOf(directory)],
  };
}

export default defineConfig([
  packageBuild('core', {
    index: 'packages/core/src/index.ts',
    'testing/index': 'packages/core/src/testing/index.ts',
  }),
  packageBuild('trainer', {
    index: 'packages/trainer/src/index.ts',
    // Loaded by trainInWorker as `new URL('./training-worker.js', import.meta.url)`.
    'training-worker': 'packages/trainer/src/train/training-worker.ts',
  }),
  packageBuild('registry', { index: 'packages/registry/src/index.ts' }),
  packageBuild('server-adapter', {
    index: 'packages/server-adapter/src/index.ts',
    'client/index': 'packages/server-adapter/src/client/index.ts',
    'cli/index': 'packages/server-adapter/src/cli/index.ts',
    'ai-provider/index': 'packages/server-adapter/src/ai-provider/index.ts',
  }),
]);
