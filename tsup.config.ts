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
    // Shared chunks between entry points (root and subpaths), for ESM and CJS: one copy of each module
    // in a package, not one per entry (the subpaths would otherwise bundle the root again).
    splitting: true,
    // import.meta.url in the CJS output (the trainer resolves its worker file with it).
    shims: true,
    external: [...external, ...dependenciesOf(directory)],
  };
}

/**
 * The build entries of a package, from its package.json `exports` (the one list of entry points):
 * `.` builds from `src/index.ts` to `dist/index`, `./<subpath>` from `src/<subpath>/index.ts` to
 * `dist/<subpath>/index`. Extra entries (files loaded at run time, not imported) are added by name.
 */
function entriesOf(directory: string, extra: Record<string, string> = {}): Record<string, string> {
  const manifest = JSON.parse(readFileSync(`packages/${directory}/package.json`, 'utf8')) as {
    exports: Record<string, unknown>;
  };
  const entries: Record<string, string> = {};
  for (const subpath of Object.keys(manifest.exports)) {
    if (subpath === './package.json') continue;
    const name = subpath === '.' ? 'index' : `${subpath.slice(2)}/index`;
    entries[name] = `packages/${directory}/src/${name}.ts`;
  }
  return { ...entries, ...extra };
}

export default defineConfig([
  packageBuild('core', entriesOf('core')),
  packageBuild(
    'trainer',
    // Loaded by trainInWorker as `new URL('./training-worker.js', import.meta.url)`.
    entriesOf('trainer', { 'training-worker': 'packages/trainer/src/train/training-worker.ts' }),
  ),
  packageBuild(
    'registry',
    // Loaded by buildHnswIndexFile as `new URL('./hnsw-build-worker.js', import.meta.url)`.
    entriesOf('registry', { 'hnsw-build-worker': 'packages/registry/src/recommend/hnsw-build-worker.ts' }),
  ),
  packageBuild('server-adapter', entriesOf('server-adapter')),
]);
