import {
  createServiceKey,
  definePlugin,
  type RegisteredOutput,
  TRAINING_JOB_KIND,
  type TunekitPlugin,
  tunekitError,
} from '@tunekit/core';
import { createModelRegistry } from './create-model-registry.js';
import type { Embedder } from './embedders/embedder.js';
import { createHashingEmbedder, type HashingEmbedderOptions } from './embedders/hashing-embedder.js';
import type { ModelRegistry } from './model-registry.js';
import type { HnswParameters } from './recommend/hnsw-parameters.js';
import { registerFromTrainingJob } from './register-from-training-job.js';

/** Typed service key of the registry: `kit.get(RegistryKey)`. */
export const RegistryKey = createServiceKey<ModelRegistry>('registry');

declare module '@tunekit/core' {
  interface Tunekit {
    /**
     * The model registry, present when `registryPlugin()` is installed (the same object as
     * `kit.get(RegistryKey)`; reading it without the plugin throws `SERVICE_MISSING` naming the plugin).
     */
    readonly registry: ModelRegistry;
  }
}

/** Options of {@link registryPlugin}. */
export interface RegistryPluginOptions {
  /**
   * The embedder of the recommendation index: an instance, or the name of one registered on the
   * `embedder` extension point by another plugin (resolved on first use, so plugin order does not
   * matter). Default: the offline hashing embedder (`hashing`, options from `hashing`).
   */
  embedder?: Embedder | string;
  /** Options of the default hashing embedder. */
  hashing?: HashingEmbedderOptions;
  /** HNSW parameters of the index (M, efConstruction, efSearch …). */
  hnsw?: HnswParameters;
  /** Folder of the index files (default `artifact://registry/index`). */
  indexFolderUri?: string;
  /** Folder for cards of versions stored outside the artifact store (default `artifact://registry/models`). */
  cardsFolderUri?: string;
  /**
   * Register the output of training jobs whose input has `registerAs` (default true), as a job
   * completion step: the job is `succeeded` once its version exists, named in `output.registered`.
   * Job kinds: `trainJobKinds` (default `['train']`).
   */
  autoRegister?: boolean;
  trainJobKinds?: readonly string[];
}

/**
 * The registry as a kit plugin: provides the {@link ModelRegistry} under {@link RegistryKey} and as
 * `kit.registry`, registers the default hashing embedder on the `embedder` extension point (unless a
 * name is given), and, with `autoRegister`, registers the output of each succeeded `train` job whose
 * input has `registerAs: { name, description?, tags? … }`. Teardown waits for pending index writes.
 *
 * @example
 * ```ts
 * const kit = await createTunekit({ dataDirectory: './.tunekit', plugins: [registryPlugin()] });
 * const v1 = await kit.registry.register({ name: 'tone-ja', artifactUri: 'artifact://models/tone-ja/1' });
 * await kit.registry.transition(v1.id, 'staging');
 * await kit.registry.deploy(v1.id);
 * ```
 */
export function registryPlugin(options: RegistryPluginOptions = {}): TunekitPlugin {
  return definePlugin({
    name: 'registry',
    setup(context) {
      const { kit } = context;
      let ownEmbedderName: string | undefined;
      let embedder: Embedder | (() => Embedder);
      if (typeof options.embedder === 'string') {
        const name = options.embedder;
        embedder = () => {
          const found = context.extensions.get('embedder', name);
          if (found === undefined) {
            throw tunekitError(
              'EMBEDDER_NOT_FOUND',
              `No embedder "${name}" is registered (add the plugin that provides it)`,
              { embedder: name },
            );
          }
          return found;
        };
      } else {
        embedder = options.embedder ?? createHashingEmbedder(options.hashing);
        if (context.extensions.get('embedder', embedder.name) === undefined) {
          context.extensions.add('embedder', embedder.name, embedder);
          ownEmbedderName = embedder.name;
        }
      }
      const registry = createModelRegistry({
        storage: kit.storage,
        artifacts: kit.artifacts,
        events: kit.events,
        audit: kit.audit,
        logger: context.logger,
        jobs: kit.jobs,
        datasets: kit.datasets,
        embedder,
        hnsw: options.hnsw,
        indexFolderUri: options.indexFolderUri,
        cardsFolderUri: options.cardsFolderUri,
      });
      context.provide(RegistryKey, registry);
      Object.defineProperty(kit, 'registry', { value: registry, configurable: true, enumerable: true });

      const completionName = 'registry:register-training-output';
      if (options.autoRegister ?? true) {
        // Runs before the job is `succeeded`: `jobs.wait` resolves with the version in the output.
        context.extensions.add('jobCompletion', completionName, {
          kinds: options.trainJobKinds ?? [TRAINING_JOB_KIND],
          async complete(job) {
            const version = await registerFromTrainingJob(registry, job);
            if (version === undefined) return undefined;
            const registered: RegisteredOutput = {
              id: version.id,
              name: version.name,
              version: version.versionNumber,
              reference: version.id,
            };
            return { registered };
          },
        });
      }
      return async () => {
        context.extensions.remove('jobCompletion', completionName);
        await registry.flush();
        if (ownEmbedderName !== undefined) context.extensions.remove('embedder', ownEmbedderName);
        Reflect.deleteProperty(kit, 'registry');
      };
    },
  });
}
