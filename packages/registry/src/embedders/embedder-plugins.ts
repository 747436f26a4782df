import { definePlugin, type TunekitPlugin } from '@tunekit/core';
import { createHashingEmbedder, type HashingEmbedderOptions } from './hashing-embedder.js';
import { createTransformersEmbedder, type TransformersEmbedderOptions } from './transformers-embedder.js';

/**
 * Registers the offline hashing embedder on the `embedder` extension point (under its name,
 * `hashing` by default). `registryPlugin` adds one itself when no embedder is named, so this plugin is
 * only needed to register a differently configured one.
 */
export function hashingEmbedderPlugin(options: HashingEmbedderOptions = {}): TunekitPlugin {
  return definePlugin({
    name: `embedder-${options.name ?? 'hashing'}`,
    setup(context) {
      const embedder = createHashingEmbedder(options);
      context.extensions.add('embedder', embedder.name, embedder);
      return () => {
        context.extensions.remove('embedder', embedder.name);
      };
    },
  });
}

/**
 * Registers a transformers.js feature-extraction embedder loaded from a local model folder on the
 * `embedder` extension point (name `transformers:<folder>` unless given). Setup rejects with
 * `EMBEDDER_UNAVAILABLE` when the folder or its `config.json` is missing; nothing is downloaded.
 *
 * @example
 * ```ts
 * const kit = await createTunekit({
 *   plugins: [
 *     transformersEmbedderPlugin({ modelPath: './models/minilm', name: 'minilm' }),
 *     registryPlugin({ embedder: 'minilm' }),
 *   ],
 * });
 * ```
 */
export function transformersEmbedderPlugin(options: TransformersEmbedderOptions): TunekitPlugin {
  return definePlugin({
    name: `embedder-${options.name ?? 'transformers'}`,
    async setup(context) {
      const embedder = await createTransformersEmbedder(options);
      context.extensions.add('embedder', embedder.name, embedder);
      return () => {
        context.extensions.remove('embedder', embedder.name);
      };
    },
  });
}
