import {
  type ArtifactStore,
  type AuditSink,
  createAuditRecorder,
  createKeyMutex,
  type DatasetService,
  type EventBus,
  type JobQueue,
  type Logger,
  ModelAliasSchema,
  ModelCardSchema,
  ModelStageSchema,
  ModelTransitionSchema,
  type ModelVersion,
  ModelVersionSchema,
  parseOrThrow,
  RegisteredModelSchema,
  type Storage,
  tunekitError,
} from '@tunekit/core';
import { renderModelCard } from './cards/render-model-card.js';
import { cardFolderOf, writeModelCard } from './cards/write-model-card.js';
import type { Embedder } from './embedders/embedder.js';
import { createHashingEmbedder } from './embedders/hashing-embedder.js';
import { embeddingText, modelFilterPredicate, textQueryPredicate } from './model-filters.js';
import {
  type ModelLineage,
  type ModelRegistry,
  RecommendQuerySchema,
  RegisterModelInputSchema,
  SearchModelsQuerySchema,
  UpdateModelInputSchema,
} from './model-registry.js';
import type { HnswParameters } from './recommend/hnsw-parameters.js';
import {
  createRecommendationIndex,
  type RecommendationIndexOptions,
} from './recommend/recommendation-index.js';
import {
  allVersionsOf,
  collectAll,
  indexed,
  type RegistryStore,
  requireVersion,
  resolveVersion,
  versionIdOf,
} from './registry-store.js';
import { recordTransition } from './stage-changes.js';
import { withStageLease } from './stage-lease.js';
import { moveVersionStage, promoteVersion, rollbackProduction } from './stage-operations.js';

/** Collection of model versions. */
export const MODEL_VERSIONS_COLLECTION = 'model-versions';
/** Collection of per-name registered-model records. */
export const REGISTERED_MODELS_COLLECTION = 'registered-models';
/** Collection of transition history entries. */
export const MODEL_TRANSITIONS_COLLECTION = 'model-transitions';
/** Collection of model cards (JSON). */
export const MODEL_CARDS_COLLECTION = 'model-cards';

/** Names that `name@<suffix>` resolves without an alias; they cannot be used as aliases. */
export const RESERVED_ALIASES: readonly string[] = ['latest', 'draft', 'staging', 'production', 'archived'];

/** What {@link createModelRegistry} needs. */
export interface ModelRegistryOptions {
  storage: Storage;
  artifacts: ArtifactStore;
  events?: EventBus;
  /** Where mutating operations are recorded (the kit's audit log). */
  audit?: AuditSink;
  logger?: Logger;
  /** The kit's job queue, for `lineage` (training job records). */
  jobs?: Pick<JobQueue, 'get'>;
  /** The kit's dataset service, for `lineage` (dataset version records). */
  datasets?: Pick<DatasetService, 'getVersion'>;
  /** The embedder of the recommendation index, or a function resolving it on first use (default: hashing, 256). */
  embedder?: Embedder | (() => Embedder);
  /** Folder of the index files (default `artifact://registry/index`). */
  indexFolderUri?: string;
  /** HNSW parameters of the index. */
  hnsw?: HnswParameters;
  /** When the index is written back (see {@link RecommendationIndexOptions.snapshot}). */
  indexSnapshot?: RecommendationIndexOptions['snapshot'];
  /**
   * How long a stage-change lease on a name is held at most (default 60,000 ms): a process that dies
   * holding it blocks stage changes of that name until then.
   */
  leaseMs?: number;
  /** How long a stage change waits for another process's lease before `CONFLICT` (default 30,000 ms). */
  leaseWaitMs?: number;
  /**
   * Folder for the cards of versions whose `artifactUri` is not an `artifact://` URI (default
   * `artifact://registry/models`; cards go to `<folder>/<name>/<n>/`). Versions stored in the artifact
   * store get `README.md` and `model-card.json` in their own folder.
   */
  cardsFolderUri?: string;
}

/**
 * Creates the model registry over the kit's storage and artifact store (see {@link ModelRegistry}).
 * `registryPlugin` calls this with the kit's services; call it yourself to use the registry without a kit.
 *
 * Consistency: keyv has no multi-record transactions. Stage changes of one name (transition, deploy,
 * rollback, delete) run one at a time: serialized in this process, and across processes by a lease
 * taken with compare-and-set on the name's record (`registered-models`). A change that dies half-way
 * is repaired by the next one (the pointer and the production stage are made to agree again).
 */
export function createModelRegistry(options: ModelRegistryOptions): ModelRegistry {
  const { storage, artifacts, events, audit, logger } = options;
  const versions = storage.collection(MODEL_VERSIONS_COLLECTION, ModelVersionSchema);

  let defaultEmbedder: Embedder | undefined;
  const resolveEmbedder = (): Embedder => {
    if (typeof options.embedder === 'function') return options.embedder();
    if (options.embedder !== undefined) return options.embedder;
    defaultEmbedder ??= createHashingEmbedder();
    return defaultEmbedder;
  };

  const store: RegistryStore = {
    versions,
    models: storage.collection(REGISTERED_MODELS_COLLECTION, RegisteredModelSchema),
    transitions: storage.collection(MODEL_TRANSITIONS_COLLECTION, ModelTransitionSchema),
    cards: storage.collection(MODEL_CARDS_COLLECTION, ModelCardSchema),
    artifacts,
    events,
    audit: createAuditRecorder({ sink: audit, source: 'registry', logger, events }),
    logger,
    cardsFolder: (options.cardsFolderUri ?? 'artifact://registry/models').replace(/\/+$/, ''),
    nameLock: createKeyMutex(),
    index: createRecommendationIndex({
      artifacts,
      folderUri: options.indexFolderUri,
      resolveEmbedder,
      loadVersions: () => collectAll((cursor) => versions.list({ limit: 1000, cursor })),
      events,
      logger,
      hnsw: options.hnsw,
      ...(options.indexSnapshot === undefined ? {} : { snapshot: options.indexSnapshot }),
    }),
    leaseMs: options.leaseMs ?? 60_000,
    leaseWaitMs: options.leaseWaitMs ?? 30_000,
    transitionSequence: 0,
  };

  const ensureModelRecord = async (name: string): Promise<void> => {
    if ((await store.models.get(name)) !== undefined) return;
    const now = new Date().toISOString();
    await store.models.set({
      id: name,
      latestVersionNumber: 0,
      productionHistory: [],
      aliases: {},
      createdAt: now,
      updatedAt: now,
      version: 0,
    });
  };

  const registry: ModelRegistry = {
    async register(input, context) {
      const parsed = parseOrThrow(RegisterModelInputSchema, input, 'model registration');
      return store.audit.run(
        {
          action: 'model.register',
          resourceType: 'model',
          resourceId: parsed.name,
          details: (version) => ({ versionId: version.id, versionNumber: version.versionNumber }),
        },
        context,
        async () => {
          if (
            parsed.parentVersionId !== undefined &&
            (await store.versions.get(parsed.parentVersionId)) === undefined
          ) {
            throw tunekitError(
              'NOT_FOUND',
              `Parent model version "${parsed.parentVersionId}" does not exist`,
              {
                parentVersionId: parsed.parentVersionId,
              },
            );
          }
          const version = await store.nameLock.run(parsed.name, async () => {
            await ensureModelRecord(parsed.name);
            // Another process may have created the record concurrently and reset the counter; skip ids in use.
            for (let attempt = 0; ; attempt += 1) {
              const model = await store.models.update(parsed.name, (current) => ({
                ...current,
                latestVersionNumber: current.latestVersionNumber + 1,
                updatedAt: new Date().toISOString(),
              }));
              const id = versionIdOf(parsed.name, model.latestVersionNumber);
              if ((await store.versions.get(id)) !== undefined && attempt < 1000) continue;
              const now = new Date().toISOString();
              const languages = parsed.language === undefined ? [] : [parsed.language].flat();
              const draft: ModelVersion = {
                id,
                name: parsed.name,
                versionNumber: model.latestVersionNumber,
                stage: 'draft',
                artifactUri: parsed.artifactUri,
                baseModel: parsed.baseModel,
                baseModelRelation: parsed.baseModelRelation,
                task: parsed.task,
                language: languages,
                license: parsed.license,
                libraryName: parsed.libraryName,
                metrics: parsed.metrics ?? {},
                tags: [...new Set(parsed.tags ?? [])],
                description: parsed.description ?? '',
                datasets: parsed.datasets ?? [],
                intendedUse: parsed.intendedUse,
                limitations: parsed.limitations,
                trainingParameters: parsed.trainingParameters ?? {},
                trainingJobId: parsed.trainingJobId,
                datasetVersionId: parsed.datasetVersionId,
                parentVersionId: parsed.parentVersionId,
                createdBy: context?.actor ?? 'system',
                createdAt: now,
                updatedAt: now,
                stageChangedAt: now,
                version: 0,
              };
              const folder = await cardFolderOf(store, draft);
              return store.versions.set({ ...draft, cardUri: `${folder}/README.md` });
            }
          });
          await writeModelCard(store, version);
          await recordTransition(store, version, 'register', undefined, 'draft', undefined, context);
          await indexed(store, () => store.index.upsert(version));
          store.events?.emit('model:registered', {
            versionId: version.id,
            name: version.name,
            versionNumber: version.versionNumber,
            trainingJobId: version.trainingJobId,
          });
          return version;
        },
      );
    },

    get: (reference) => resolveVersion(store, reference),
    require: (reference) => requireVersion(store, reference),
    getModel: (name) => store.models.get(name),
    versions: (name) => allVersionsOf(store, name),

    async transition(reference, stage, transitionOptions, context) {
      const to = parseOrThrow(ModelStageSchema, stage, 'target stage');
      return store.audit.run(
        {
          action: 'model.transition',
          resourceType: 'model',
          resourceId: reference,
          details: (version) => ({ to: version.stage, reason: transitionOptions?.reason }),
        },
        context,
        async () => {
          if (to === 'production')
            return promoteVersion(store, reference, 'transition', transitionOptions, context);
          return moveVersionStage(store, reference, to, transitionOptions, context);
        },
      );
    },

    async deploy(reference, transitionOptions, context) {
      return store.audit.run(
        { action: 'model.deploy', resourceType: 'model', resourceId: reference },
        context,
        () => promoteVersion(store, reference, 'deploy', transitionOptions, context),
      );
    },

    async rollback(name, transitionOptions, context) {
      return store.audit.run(
        {
          action: 'model.rollback',
          resourceType: 'model',
          resourceId: name,
          details: (version) => ({ toVersionId: version.id }),
        },
        context,
        () => rollbackProduction(store, name, transitionOptions, context),
      );
    },

    async setAlias(reference, alias, context) {
      return store.audit.run(
        { action: 'model.alias', resourceType: 'model', resourceId: reference },
        context,
        async () => {
          const name = parseOrThrow(ModelAliasSchema, alias, 'alias');
          if (RESERVED_ALIASES.includes(name) || /^v\d+$/.test(name)) {
            throw tunekitError('VALIDATION_FAILED', `"${name}" is reserved and cannot be an alias`, {
              alias: name,
            });
          }
          const target = await requireVersion(store, reference);
          return store.nameLock.run(target.name, async () => {
            const updated = await store.models.update(target.name, (model) => ({
              ...model,
              aliases: { ...model.aliases, [name]: target.id },
              updatedAt: new Date().toISOString(),
            }));
            store.events?.emit('model:aliased', { name: target.name, alias: name, versionId: target.id });
            return updated;
          });
        },
      );
    },

    async removeAlias(name, alias, context) {
      return store.audit.run(
        { action: 'model.alias', resourceType: 'model', resourceId: `${name}@${alias}` },
        context,
        () =>
          store.nameLock.run(name, async () => {
            const model = await store.models.get(name);
            if (model === undefined || model.aliases[alias] === undefined) return false;
            await store.models.update(name, (current) => {
              const { [alias]: _removed, ...aliases } = current.aliases;
              return { ...current, aliases, updatedAt: new Date().toISOString() };
            });
            store.events?.emit('model:aliased', { name, alias, versionId: null });
            return true;
          }),
      );
    },

    async update(reference, input, context) {
      const changes = parseOrThrow(UpdateModelInputSchema, input, 'model update');
      return store.audit.run(
        {
          action: 'model.update',
          resourceType: 'model',
          resourceId: reference,
          details: () => ({ fields: Object.keys(changes) }),
        },
        context,
        async () => {
          const target = await requireVersion(store, reference);
          const updated = await store.versions.update(target.id, (current) => ({
            ...current,
            ...(changes.description === undefined ? {} : { description: changes.description }),
            ...(changes.tags === undefined ? {} : { tags: [...new Set(changes.tags)] }),
            ...(changes.intendedUse === undefined ? {} : { intendedUse: changes.intendedUse }),
            ...(changes.limitations === undefined ? {} : { limitations: changes.limitations }),
            ...(changes.metrics === undefined ? {} : { metrics: { ...current.metrics, ...changes.metrics } }),
            updatedAt: new Date().toISOString(),
          }));
          await writeModelCard(store, updated);
          await indexed(store, () => store.index.upsert(updated));
          store.events?.emit('model:updated', {
            versionId: updated.id,
            name: updated.name,
            fields: Object.keys(changes),
          });
          return updated;
        },
      );
    },

    async delete(reference, context) {
      return store.audit.run(
        { action: 'model.delete', resourceType: 'model', resourceId: reference },
        context,
        async () => {
          const target = await resolveVersion(store, reference);
          if (target === undefined) return false;
          return withStageLease(store, target.name, context, async () => {
            const current = await store.versions.get(target.id);
            if (current === undefined) return false;
            if (current.stage === 'production') {
              throw tunekitError(
                'MODEL_IN_PRODUCTION',
                `Model version "${current.id}" is in production; archive it or deploy another version first`,
                { versionId: current.id },
              );
            }
            await store.versions.delete(current.id);
            await store.cards.delete(current.id);
            if (current.cardUri !== undefined) {
              const folder = current.cardUri.replace(/\/README\.md$/, '');
              await store.artifacts.delete(`${folder}/README.md`).catch(() => false);
              await store.artifacts.delete(`${folder}/model-card.json`).catch(() => false);
            }
            await store.models.update(current.name, (model) => ({
              ...model,
              aliases: Object.fromEntries(
                Object.entries(model.aliases).filter(([, id]) => id !== current.id),
              ),
              productionHistory: model.productionHistory.filter((id) => id !== current.id),
              updatedAt: new Date().toISOString(),
            }));
            await indexed(store, () => store.index.remove(current.id));
            store.events?.emit('model:deleted', { versionId: current.id, name: current.name });
            return true;
          });
        },
      );
    },

    async history(name) {
      const entries = await collectAll((cursor) =>
        store.transitions.list({ filter: (entry) => entry.name === name, limit: 1000, cursor }),
      );
      return entries.sort((left, right) =>
        left.at === right.at ? left.sequence - right.sequence : left.at < right.at ? -1 : 1,
      );
    },

    async lineage(reference) {
      const version = await requireVersion(store, reference);
      const lineage: ModelLineage = {
        version,
        baseModel: version.baseModel,
        trainingJobId: version.trainingJobId,
        datasetVersionId: version.datasetVersionId,
        children: (
          await collectAll((cursor) =>
            store.versions.list({
              filter: (other) => other.parentVersionId === version.id,
              limit: 1000,
              cursor,
            }),
          )
        ).sort((left, right) => (left.createdAt < right.createdAt ? -1 : 1)),
      };
      if (version.parentVersionId !== undefined)
        lineage.parent = await store.versions.get(version.parentVersionId);
      if (version.trainingJobId !== undefined && options.jobs !== undefined) {
        lineage.trainingJob = await options.jobs.get(version.trainingJobId).catch(() => undefined);
      }
      if (version.datasetVersionId !== undefined && options.datasets !== undefined) {
        lineage.datasetVersion = await options.datasets
          .getVersion(version.datasetVersionId)
          .catch(() => undefined);
      }
      return lineage;
    },

    async card(reference) {
      const version = await requireVersion(store, reference);
      return (await store.cards.get(version.id)) ?? writeModelCard(store, version);
    },

    async readme(reference) {
      return renderModelCard(await registry.card(reference));
    },

    async search(query = {}) {
      const parsed = parseOrThrow(SearchModelsQuerySchema, query, 'model search');
      const { text, limit, cursor, ...filters } = parsed;
      const matchesFilters = modelFilterPredicate(filters);
      const matchesText = textQueryPredicate(text);
      return store.versions.list({
        filter: (version) => matchesFilters(version) && matchesText(version),
        sort: { field: 'createdAt', direction: 'desc' },
        limit,
        cursor,
      });
    },

    async recommend(query) {
      const parsed = parseOrThrow(RecommendQuerySchema, query, 'recommendation query');
      let vector: ArrayLike<number>;
      let exclude: string | undefined;
      if (parsed.text !== undefined) {
        vector = await store.index.embed(parsed.text);
      } else if (parsed.embedding !== undefined) {
        vector = parsed.embedding;
      } else {
        const source = await requireVersion(store, parsed.modelId as string);
        exclude = source.id;
        vector = (await store.index.vectorOf(source.id)) ?? (await store.index.embed(embeddingText(source)));
      }
      // Structured filters go to the index's attribute index (exact matches, no scan of every version).
      const results = await store.index.search(vector, parsed.k, parsed.filters, exclude);
      return results.map((result) => ({ model: result.version, score: result.score }));
    },

    rebuildIndex: () => store.index.rebuild(),
    indexStats: () => store.index.stats(),
    flush: () => store.index.flush(),
  };
  return registry;
}
