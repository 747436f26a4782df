import { randomUUID } from 'node:crypto';
import {
  type ArtifactStore,
  type AuditSink,
  createKeyMutex,
  type DatasetService,
  type Embedder,
  ErrorCodes,
  type EventBus,
  type JobQueue,
  type Logger,
  ModelAliasSchema,
  type ModelCard,
  ModelCardSchema,
  type ModelStage,
  ModelStageSchema,
  type ModelTransitionAction,
  ModelTransitionSchema,
  type ModelVersion,
  ModelVersionSchema,
  type OperationContext,
  parseOrThrow,
  type RegisteredModel,
  RegisteredModelSchema,
  type Storage,
  TunekitError,
} from '@tunekit/core';
import { buildModelCard } from './cards/build-model-card.js';
import { renderModelCard } from './cards/render-model-card.js';
import { createHashingEmbedder } from './embedders/hashing-embedder.js';
import { embeddingText, modelFilterPredicate, textQueryPredicate } from './model-filters.js';
import {
  type ModelLineage,
  type ModelRegistry,
  RecommendQuerySchema,
  RegisterModelInputSchema,
  SearchModelsQuerySchema,
  type TransitionOptions,
  UpdateModelInputSchema,
} from './model-registry.js';
import type { HnswParameters } from './recommend/hnsw-vector-index.js';
import { createRecommendationIndex, type RecommendationIndex } from './recommend/recommendation-index.js';
import { assertTransition } from './stage-transitions.js';

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

function coded(
  code: keyof typeof ErrorCodes,
  message: string,
  details?: Record<string, unknown>,
): TunekitError {
  return new TunekitError({ code, status: ErrorCodes[code].status, message, details });
}

const versionIdOf = (name: string, versionNumber: number) => `${name}@${versionNumber}`;

async function collectAll<T>(
  page: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor?: string }>,
): Promise<T[]> {
  const all: T[] = [];
  let cursor: string | undefined;
  do {
    const next = await page(cursor);
    all.push(...next.items);
    cursor = next.nextCursor;
  } while (cursor !== undefined);
  return all;
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
  const models = storage.collection(REGISTERED_MODELS_COLLECTION, RegisteredModelSchema);
  const transitions = storage.collection(MODEL_TRANSITIONS_COLLECTION, ModelTransitionSchema);
  const cards = storage.collection(MODEL_CARDS_COLLECTION, ModelCardSchema);
  const cardsFolder = (options.cardsFolderUri ?? 'artifact://registry/models').replace(/\/+$/, '');
  const nameLock = createKeyMutex();
  let sequence = 0;

  let defaultEmbedder: Embedder | undefined;
  const resolveEmbedder = (): Embedder => {
    if (typeof options.embedder === 'function') return options.embedder();
    if (options.embedder !== undefined) return options.embedder;
    defaultEmbedder ??= createHashingEmbedder();
    return defaultEmbedder;
  };

  const loadAllVersions = () => collectAll((cursor) => versions.list({ limit: 1000, cursor }));

  const index: RecommendationIndex = createRecommendationIndex({
    artifacts,
    folderUri: options.indexFolderUri,
    resolveEmbedder,
    loadVersions: loadAllVersions,
    events,
    logger,
    hnsw: options.hnsw,
  });

  /** Index maintenance never fails an operation: on error the index is dropped and reconciled on next use. */
  const indexed = async (work: () => Promise<void>) => {
    try {
      await work();
    } catch (error) {
      logger?.warn(
        { err: error },
        'Updating the recommendation index failed; it will be reconciled on next use',
      );
      await index.unload().catch(() => undefined);
    }
  };

  const auditEntry = async (
    action: string,
    resourceId: string | undefined,
    outcome: 'success' | 'failure',
    context: OperationContext | undefined,
    details?: Record<string, unknown>,
  ) => {
    try {
      await audit?.record({ action, resourceType: 'model', resourceId, outcome, details }, context);
    } catch (error) {
      logger?.error({ err: error, action, resourceId }, 'Writing a registry audit entry failed');
    }
  };

  /** Runs a mutating operation: audit on success and failure. */
  const audited = async <T>(
    action: string,
    resourceId: string | undefined,
    context: OperationContext | undefined,
    work: () => Promise<T>,
    details?: (result: T) => Record<string, unknown>,
  ): Promise<T> => {
    try {
      const result = await work();
      await auditEntry(action, resourceId, 'success', context, details?.(result));
      return result;
    } catch (error) {
      await auditEntry(action, resourceId, 'failure', context, {
        code: TunekitError.isInstance(error) ? error.code : 'INTERNAL',
        message: error instanceof Error ? error.message : String(error),
      });
      throw error;
    }
  };

  const recordTransition = async (
    version: ModelVersion,
    action: ModelTransitionAction,
    from: ModelStage | undefined,
    to: ModelStage,
    reason: string | undefined,
    context: OperationContext | undefined,
  ) => {
    sequence += 1;
    await transitions.set({
      id: randomUUID(),
      name: version.name,
      versionId: version.id,
      versionNumber: version.versionNumber,
      action,
      from,
      to,
      reason,
      actor: context?.actor ?? 'system',
      at: new Date().toISOString(),
      sequence,
      version: 0,
    });
    if (action !== 'register' && from !== undefined) {
      events?.emit('model:transitioned', { versionId: version.id, name: version.name, from, to, action });
    }
  };

  const cardFolderOf = async (version: ModelVersion): Promise<string> => {
    const uri = version.artifactUri.replace(/\/+$/, '');
    if (!uri.startsWith('artifact://')) return `${cardsFolder}/${version.name}/${version.versionNumber}`;
    try {
      const info = await artifacts.stat(uri);
      if (info !== undefined) {
        // The artifact is a file: put the card next to it.
        const slash = uri.lastIndexOf('/');
        return slash > 'artifact://'.length
          ? uri.slice(0, slash)
          : `${cardsFolder}/${version.name}/${version.versionNumber}`;
      }
      return uri;
    } catch {
      return `${cardsFolder}/${version.name}/${version.versionNumber}`;
    }
  };

  /** Builds, validates, stores and renders the card of a version. */
  const writeCard = async (version: ModelVersion): Promise<ModelCard> => {
    const card = await cards.set(buildModelCard(version));
    const folder = version.cardUri
      ? version.cardUri.replace(/\/README\.md$/, '')
      : await cardFolderOf(version);
    await artifacts.put(`${folder}/README.md`, renderModelCard(card));
    await artifacts.put(`${folder}/model-card.json`, `${JSON.stringify(card, null, 2)}\n`);
    return card;
  };

  const ensureModelRecord = async (name: string): Promise<void> => {
    if ((await models.get(name)) !== undefined) return;
    const now = new Date().toISOString();
    await models.set({
      id: name,
      latestVersionNumber: 0,
      productionHistory: [],
      aliases: {},
      createdAt: now,
      updatedAt: now,
      version: 0,
    });
  };

  const requireModel = async (name: string): Promise<RegisteredModel> => {
    const model = await models.get(name);
    if (model === undefined) throw coded('NOT_FOUND', `No registered model "${name}"`, { name });
    return model;
  };

  const resolve = async (reference: string): Promise<ModelVersion | undefined> => {
    if (typeof reference !== 'string' || reference.length === 0 || reference.length > 190) return undefined;
    const at = reference.lastIndexOf('@');
    const name = at < 0 ? reference : reference.slice(0, at);
    const suffix = at < 0 ? 'latest' : reference.slice(at + 1);
    if (/^\d+$/.test(suffix)) return versions.get(versionIdOf(name, Number(suffix)));
    const model = await models.get(name);
    if (model === undefined) return undefined;
    if (suffix === 'production') {
      return model.productionVersionId ? versions.get(model.productionVersionId) : undefined;
    }
    if (suffix === 'latest' || ModelStageSchema.safeParse(suffix).success) {
      const all = await allVersionsOf(name);
      const matching = suffix === 'latest' ? all : all.filter((version) => version.stage === suffix);
      return matching.at(-1);
    }
    const target = model.aliases[suffix];
    return target === undefined ? undefined : versions.get(target);
  };

  const requireVersion = async (reference: string): Promise<ModelVersion> => {
    const version = await resolve(reference);
    if (version === undefined) {
      throw coded('NOT_FOUND', `No model version "${reference}"`, { reference });
    }
    return version;
  };

  const allVersionsOf = async (name: string): Promise<ModelVersion[]> => {
    const all = await collectAll((cursor) =>
      versions.list({ filter: (version) => version.name === name, limit: 1000, cursor }),
    );
    return all.sort((left, right) => left.versionNumber - right.versionNumber);
  };

  const afterStageChange = async (version: ModelVersion) => {
    await writeCard(version);
    await indexed(() => index.refresh(version));
  };

  /** Sets a version's stage by compare-and-set, checking the stage it had is still `expected`. */
  const setStage = async (
    id: string,
    expected: ModelStage,
    to: ModelStage,
    extra: Partial<ModelVersion> = {},
  ): Promise<ModelVersion> =>
    versions.update(id, (current) => {
      if (current.stage !== expected) {
        throw coded('CONFLICT', `Model version "${id}" changed stage to ${current.stage} concurrently`, {
          versionId: id,
          expected,
          actual: current.stage,
        });
      }
      const now = new Date().toISOString();
      return { ...current, ...extra, stage: to, stageChangedAt: now, updatedAt: now };
    });

  /** Archives every production version of `name` except `keep`. */
  const archiveOtherProduction = async (
    name: string,
    keep: string,
    action: ModelTransitionAction,
    reason: string | undefined,
    context: OperationContext | undefined,
  ): Promise<string[]> => {
    const others = await collectAll((cursor) =>
      versions.list({
        filter: (version) => version.name === name && version.stage === 'production' && version.id !== keep,
        limit: 1000,
        cursor,
      }),
    );
    const archived: string[] = [];
    for (const other of others) {
      try {
        const updated = await setStage(other.id, 'production', 'archived');
        await recordTransition(updated, action, 'production', 'archived', reason, context);
        await afterStageChange(updated);
        archived.push(updated.id);
      } catch (error) {
        // Someone else moved it meanwhile: nothing to archive.
        if (!(TunekitError.isInstance(error) && error.code === 'CONFLICT')) throw error;
      }
    }
    return archived;
  };

  const leaseMs = options.leaseMs ?? 60_000;
  const leaseWaitMs = options.leaseWaitMs ?? 30_000;

  /** Takes the stage-change lease of `name` (compare-and-set on its record), waiting while another holds it. */
  const acquireLease = async (name: string): Promise<string> => {
    const token = randomUUID();
    const deadline = Date.now() + leaseWaitMs;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await models.update(name, (model) => {
          if (model.lease !== undefined && model.lease.expiresAt > Date.now()) {
            throw coded('CONFLICT', `The stage-change lease of "${name}" is held`, { name, held: true });
          }
          return { ...model, lease: { owner: token, expiresAt: Date.now() + leaseMs } };
        });
        return token;
      } catch (error) {
        if (!(TunekitError.isInstance(error) && error.code === 'CONFLICT')) throw error;
        if (Date.now() > deadline) {
          throw coded('CONFLICT', `Another process keeps changing the stages of "${name}"; try again`, {
            name,
          });
        }
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * Math.min(attempt, 10)));
      }
    }
  };

  const releaseLease = async (name: string, token: string) => {
    await models
      .update(name, (model) => (model.lease?.owner === token ? { ...model, lease: undefined } : model))
      .catch((error) => logger?.warn({ err: error, name }, 'Releasing a registry stage lease failed'));
  };

  /**
   * Restores the invariant "at most one production version, the one the pointer names" after a
   * process crashed half-way through a stage change: a pointer to a version that is not in production
   * moves to the newest production version (or none), and other production versions are archived.
   */
  const repair = async (name: string, context: OperationContext | undefined) => {
    const model = await requireModel(name);
    const productions = (await allVersionsOf(name)).filter((version) => version.stage === 'production');
    const pointer = model.productionVersionId;
    if (productions.length === (pointer === undefined ? 0 : 1) && productions[0]?.id === pointer) return;
    let keep = productions.find((version) => version.id === pointer)?.id;
    if (keep === undefined) {
      keep = productions.sort((left, right) =>
        (left.deployedAt ?? '') < (right.deployedAt ?? '') ? 1 : -1,
      )[0]?.id;
      await models.update(name, (current) => ({ ...current, productionVersionId: keep }));
    }
    logger?.warn({ name, pointer, keep }, 'Repairing the production stage of a registered model');
    await archiveOtherProduction(
      name,
      keep ?? '',
      'auto-archive',
      'repair after an interrupted stage change',
      context,
    );
  };

  /**
   * Runs a stage change of `name` alone: serialized in this process, and across processes by the
   * lease on the name's record; repairs what an interrupted change left first.
   */
  const withStageLease = async <T>(
    name: string,
    context: OperationContext | undefined,
    work: () => Promise<T>,
  ): Promise<T> =>
    nameLock.run(name, async () => {
      await requireModel(name);
      const token = await acquireLease(name);
      try {
        await repair(name, context);
        return await work();
      } finally {
        await releaseLease(name, token);
      }
    });

  const promote = async (
    reference: string,
    action: 'transition' | 'deploy',
    transitionOptions: TransitionOptions | undefined,
    context: OperationContext | undefined,
  ): Promise<ModelVersion> => {
    const target = await requireVersion(reference);
    return withStageLease(target.name, context, async () => {
      const current = await versions.require(target.id);
      assertTransition(current.id, current.stage, 'production');
      let previousId: string | undefined;
      await models.update(current.name, (model) => {
        previousId = model.productionVersionId;
        const history = model.productionHistory.filter((id) => id !== current.id);
        return {
          ...model,
          productionVersionId: current.id,
          productionHistory:
            previousId !== undefined && previousId !== current.id ? [...history, previousId] : history,
          updatedAt: new Date().toISOString(),
        };
      });
      let promoted: ModelVersion;
      try {
        promoted = await setStage(current.id, current.stage, 'production', {
          deployedAt: new Date().toISOString(),
        });
      } catch (error) {
        await models
          .update(current.name, (model) =>
            model.productionVersionId === current.id
              ? {
                  ...model,
                  productionVersionId: previousId,
                  productionHistory: model.productionHistory.filter((id) => id !== previousId),
                }
              : model,
          )
          .catch(() => undefined);
        throw error;
      }
      await recordTransition(
        promoted,
        action,
        current.stage,
        'production',
        transitionOptions?.reason,
        context,
      );
      await afterStageChange(promoted);
      await archiveOtherProduction(
        current.name,
        current.id,
        'auto-archive',
        `superseded by ${current.id}`,
        context,
      );
      events?.emit('model:deployed', {
        versionId: promoted.id,
        name: promoted.name,
        previousVersionId: previousId,
      });
      return promoted;
    });
  };

  const registry: ModelRegistry = {
    async register(input, context) {
      const parsed = parseOrThrow(RegisterModelInputSchema, input, 'model registration');
      return audited(
        'model.register',
        parsed.name,
        context,
        async () => {
          if (
            parsed.parentVersionId !== undefined &&
            (await versions.get(parsed.parentVersionId)) === undefined
          ) {
            throw coded('NOT_FOUND', `Parent model version "${parsed.parentVersionId}" does not exist`, {
              parentVersionId: parsed.parentVersionId,
            });
          }
          const version = await nameLock.run(parsed.name, async () => {
            await ensureModelRecord(parsed.name);
            // Another process may have created the record concurrently and reset the counter; skip ids in use.
            for (let attempt = 0; ; attempt += 1) {
              const model = await models.update(parsed.name, (current) => ({
                ...current,
                latestVersionNumber: current.latestVersionNumber + 1,
                updatedAt: new Date().toISOString(),
              }));
              const id = versionIdOf(parsed.name, model.latestVersionNumber);
              if ((await versions.get(id)) !== undefined && attempt < 1000) continue;
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
              const folder = await cardFolderOf(draft);
              return versions.set({ ...draft, cardUri: `${folder}/README.md` });
            }
          });
          await writeCard(version);
          await recordTransition(version, 'register', undefined, 'draft', undefined, context);
          await indexed(() => index.upsert(version));
          events?.emit('model:registered', {
            versionId: version.id,
            name: version.name,
            versionNumber: version.versionNumber,
            trainingJobId: version.trainingJobId,
          });
          return version;
        },
        (version) => ({ versionId: version.id, versionNumber: version.versionNumber }),
      );
    },

    get: resolve,
    require: requireVersion,
    getModel: (name) => models.get(name),
    versions: allVersionsOf,

    async transition(reference, stage, transitionOptions, context) {
      const to = parseOrThrow(ModelStageSchema, stage, 'target stage');
      return audited(
        'model.transition',
        reference,
        context,
        async () => {
          if (to === 'production') return promote(reference, 'transition', transitionOptions, context);
          const target = await requireVersion(reference);
          return withStageLease(target.name, context, async () => {
            let from: ModelStage = target.stage;
            const updated = await versions.update(target.id, (current) => {
              from = current.stage;
              assertTransition(current.id, current.stage, to);
              const now = new Date().toISOString();
              return { ...current, stage: to, stageChangedAt: now, updatedAt: now };
            });
            if (from === 'production') {
              await models.update(updated.name, (model) =>
                model.productionVersionId === updated.id
                  ? { ...model, productionVersionId: undefined, updatedAt: new Date().toISOString() }
                  : model,
              );
            }
            await recordTransition(updated, 'transition', from, to, transitionOptions?.reason, context);
            await afterStageChange(updated);
            return updated;
          });
        },
        (version) => ({ to: version.stage, reason: transitionOptions?.reason }),
      );
    },

    async deploy(reference, transitionOptions, context) {
      return audited('model.deploy', reference, context, () =>
        promote(reference, 'deploy', transitionOptions, context),
      );
    },

    async rollback(name, transitionOptions, context) {
      return audited(
        'model.rollback',
        name,
        context,
        () =>
          withStageLease(name, context, async () => {
            const model = await requireModel(name);
            const currentId = model.productionVersionId;
            if (currentId === undefined) {
              throw coded('ROLLBACK_UNAVAILABLE', `"${name}" has no production version to roll back from`, {
                name,
              });
            }
            let target: ModelVersion | undefined;
            let remaining = [...model.productionHistory];
            while (remaining.length > 0 && target === undefined) {
              const candidate = await versions.get(remaining.at(-1) as string);
              remaining = remaining.slice(0, -1);
              if (
                candidate !== undefined &&
                (candidate.stage === 'archived' || candidate.stage === 'staging')
              ) {
                target = candidate;
              }
            }
            if (target === undefined) {
              throw coded(
                'ROLLBACK_UNAVAILABLE',
                `"${name}" has no earlier production version to roll back to`,
                {
                  name,
                  productionVersionId: currentId,
                },
              );
            }
            const restoring = target;
            await models.update(name, (current) => {
              if (current.productionVersionId !== currentId) {
                throw coded('CONFLICT', `The production version of "${name}" changed during rollback`, {
                  name,
                });
              }
              return {
                ...current,
                productionVersionId: restoring.id,
                productionHistory: remaining,
                updatedAt: new Date().toISOString(),
              };
            });
            const restored = await setStage(restoring.id, restoring.stage, 'production', {
              deployedAt: new Date().toISOString(),
            });
            await recordTransition(
              restored,
              'rollback',
              restoring.stage,
              'production',
              transitionOptions?.reason,
              context,
            );
            await afterStageChange(restored);
            await archiveOtherProduction(
              name,
              restored.id,
              'rollback',
              transitionOptions?.reason ?? 'rolled back',
              context,
            );
            events?.emit('model:rolled-back', { name, fromVersionId: currentId, toVersionId: restored.id });
            return restored;
          }),
        (version) => ({ toVersionId: version.id }),
      );
    },

    async setAlias(reference, alias, context) {
      return audited('model.alias', reference, context, async () => {
        const name = parseOrThrow(ModelAliasSchema, alias, 'alias');
        if (RESERVED_ALIASES.includes(name) || /^v\d+$/.test(name)) {
          throw coded('VALIDATION_FAILED', `"${name}" is reserved and cannot be an alias`, { alias: name });
        }
        const target = await requireVersion(reference);
        return nameLock.run(target.name, async () => {
          const updated = await models.update(target.name, (model) => ({
            ...model,
            aliases: { ...model.aliases, [name]: target.id },
            updatedAt: new Date().toISOString(),
          }));
          events?.emit('model:aliased', { name: target.name, alias: name, versionId: target.id });
          return updated;
        });
      });
    },

    async removeAlias(name, alias, context) {
      return audited('model.alias', `${name}@${alias}`, context, () =>
        nameLock.run(name, async () => {
          const model = await models.get(name);
          if (model === undefined || model.aliases[alias] === undefined) return false;
          await models.update(name, (current) => {
            const { [alias]: _removed, ...aliases } = current.aliases;
            return { ...current, aliases, updatedAt: new Date().toISOString() };
          });
          events?.emit('model:aliased', { name, alias, versionId: null });
          return true;
        }),
      );
    },

    async update(reference, input, context) {
      const changes = parseOrThrow(UpdateModelInputSchema, input, 'model update');
      return audited(
        'model.update',
        reference,
        context,
        async () => {
          const target = await requireVersion(reference);
          const updated = await versions.update(target.id, (current) => ({
            ...current,
            ...(changes.description === undefined ? {} : { description: changes.description }),
            ...(changes.tags === undefined ? {} : { tags: [...new Set(changes.tags)] }),
            ...(changes.intendedUse === undefined ? {} : { intendedUse: changes.intendedUse }),
            ...(changes.limitations === undefined ? {} : { limitations: changes.limitations }),
            ...(changes.metrics === undefined ? {} : { metrics: { ...current.metrics, ...changes.metrics } }),
            updatedAt: new Date().toISOString(),
          }));
          await writeCard(updated);
          await indexed(() => index.upsert(updated));
          events?.emit('model:updated', {
            versionId: updated.id,
            name: updated.name,
            fields: Object.keys(changes),
          });
          return updated;
        },
        () => ({ fields: Object.keys(changes) }),
      );
    },

    async delete(reference, context) {
      return audited('model.delete', reference, context, async () => {
        const target = await resolve(reference);
        if (target === undefined) return false;
        return withStageLease(target.name, context, async () => {
          const current = await versions.get(target.id);
          if (current === undefined) return false;
          if (current.stage === 'production') {
            throw coded(
              'MODEL_IN_PRODUCTION',
              `Model version "${current.id}" is in production; archive it or deploy another version first`,
              { versionId: current.id },
            );
          }
          await versions.delete(current.id);
          await cards.delete(current.id);
          if (current.cardUri !== undefined) {
            const folder = current.cardUri.replace(/\/README\.md$/, '');
            await artifacts.delete(`${folder}/README.md`).catch(() => false);
            await artifacts.delete(`${folder}/model-card.json`).catch(() => false);
          }
          await models.update(current.name, (model) => ({
            ...model,
            aliases: Object.fromEntries(Object.entries(model.aliases).filter(([, id]) => id !== current.id)),
            productionHistory: model.productionHistory.filter((id) => id !== current.id),
            updatedAt: new Date().toISOString(),
          }));
          await indexed(() => index.remove(current.id));
          events?.emit('model:deleted', { versionId: current.id, name: current.name });
          return true;
        });
      });
    },

    async history(name) {
      const entries = await collectAll((cursor) =>
        transitions.list({ filter: (entry) => entry.name === name, limit: 1000, cursor }),
      );
      return entries.sort((left, right) =>
        left.at === right.at ? left.sequence - right.sequence : left.at < right.at ? -1 : 1,
      );
    },

    async lineage(reference) {
      const version = await requireVersion(reference);
      const lineage: ModelLineage = {
        version,
        baseModel: version.baseModel,
        trainingJobId: version.trainingJobId,
        datasetVersionId: version.datasetVersionId,
        children: (
          await collectAll((cursor) =>
            versions.list({ filter: (other) => other.parentVersionId === version.id, limit: 1000, cursor }),
          )
        ).sort((left, right) => (left.createdAt < right.createdAt ? -1 : 1)),
      };
      if (version.parentVersionId !== undefined) lineage.parent = await versions.get(version.parentVersionId);
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
      const version = await requireVersion(reference);
      return (await cards.get(version.id)) ?? writeCard(version);
    },

    async readme(reference) {
      return renderModelCard(await registry.card(reference));
    },

    async search(query = {}) {
      const parsed = parseOrThrow(SearchModelsQuerySchema, query, 'model search');
      const { text, limit, cursor, ...filters } = parsed;
      const matchesFilters = modelFilterPredicate(filters);
      const matchesText = textQueryPredicate(text);
      return versions.list({
        filter: (version) => matchesFilters(version) && matchesText(version),
        sort: { field: 'createdAt', direction: 'desc' },
        limit,
        cursor,
      });
    },

    async recommend(query) {
      const parsed = parseOrThrow(RecommendQuerySchema, query, 'recommendation query');
      const filter = parsed.filters === undefined ? undefined : modelFilterPredicate(parsed.filters);
      let vector: ArrayLike<number>;
      let exclude: string | undefined;
      if (parsed.text !== undefined) {
        vector = await index.embed(parsed.text);
      } else if (parsed.embedding !== undefined) {
        vector = parsed.embedding;
      } else {
        const source = await requireVersion(parsed.modelId as string);
        exclude = source.id;
        vector = (await index.vectorOf(source.id)) ?? (await index.embed(embeddingText(source)));
      }
      const results = await index.search(vector, parsed.k, filter, exclude);
      return results.map((result) => ({ model: result.version, score: result.score }));
    },

    rebuildIndex: () => index.rebuild(),
    indexStats: () => index.stats(),
    flush: () => index.flush(),
  };
  return registry;
}
