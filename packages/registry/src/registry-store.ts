import {
  type ArtifactStore,
  type AuditRecorder,
  type Collection,
  type EventBus,
  type KeyMutex,
  type Logger,
  type ModelCard,
  ModelStageSchema,
  type ModelTransition,
  type ModelVersion,
  type RegisteredModel,
  tunekitError,
} from '@tunekit/core';
import type { RecommendationIndex } from './recommend/recommendation-index.js';

/**
 * What the parts of one model registry share: its collections, the artifact store, the event bus,
 * the in-process lock per name and the recommendation index. Built once by `createModelRegistry`.
 */
export interface RegistryStore {
  readonly versions: Collection<ModelVersion>;
  readonly models: Collection<RegisteredModel>;
  readonly transitions: Collection<ModelTransition>;
  readonly cards: Collection<ModelCard>;
  readonly artifacts: ArtifactStore;
  readonly events: EventBus | undefined;
  /** Records every mutating operation (success or failure) in the kit's audit log. */
  readonly audit: AuditRecorder;
  readonly logger: Logger | undefined;
  /** Folder of the cards of versions stored outside the artifact store (no trailing slash). */
  readonly cardsFolder: string;
  /** Serializes changes of one name in this process. */
  readonly nameLock: KeyMutex;
  readonly index: RecommendationIndex;
  /** How long a stage-change lease is held at most. */
  readonly leaseMs: number;
  /** How long a stage change waits for another process's lease. */
  readonly leaseWaitMs: number;
  /** Orders transitions recorded in the same millisecond. */
  transitionSequence: number;
}

/** The id of version `versionNumber` of `name`: `name@versionNumber`. */
export const versionIdOf = (name: string, versionNumber: number) => `${name}@${versionNumber}`;

/** Reads every page of a paginated listing. */
export async function collectAll<T>(
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

/** Index maintenance never fails an operation: on error the index is dropped and reconciled on next use. */
export async function indexed(store: RegistryStore, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    store.logger?.warn(
      { err: error },
      'Updating the recommendation index failed; it will be reconciled on next use',
    );
    await store.index.unload().catch(() => undefined);
  }
}

/** The registered-model record of `name`; `NOT_FOUND` when there is none. */
export async function requireModel(store: RegistryStore, name: string): Promise<RegisteredModel> {
  const model = await store.models.get(name);
  if (model === undefined) throw tunekitError('NOT_FOUND', `No registered model "${name}"`, { name });
  return model;
}

/** Every version of `name`, oldest first. */
export async function allVersionsOf(store: RegistryStore, name: string): Promise<ModelVersion[]> {
  const all = await collectAll((cursor) =>
    store.versions.list({ filter: (version) => version.name === name, limit: 1000, cursor }),
  );
  return all.sort((left, right) => left.versionNumber - right.versionNumber);
}

/**
 * Resolves `name`, `name@<n>`, `name@latest`, `name@<stage>` (the newest in that stage;
 * `production` follows the pointer) or `name@<alias>`; undefined when nothing matches.
 */
export async function resolveVersion(
  store: RegistryStore,
  reference: string,
): Promise<ModelVersion | undefined> {
  if (typeof reference !== 'string' || reference.length === 0 || reference.length > 190) return undefined;
  const at = reference.lastIndexOf('@');
  const name = at < 0 ? reference : reference.slice(0, at);
  const suffix = at < 0 ? 'latest' : reference.slice(at + 1);
  if (/^\d+$/.test(suffix)) return store.versions.get(versionIdOf(name, Number(suffix)));
  const model = await store.models.get(name);
  if (model === undefined) return undefined;
  if (suffix === 'production') {
    return model.productionVersionId ? store.versions.get(model.productionVersionId) : undefined;
  }
  if (suffix === 'latest' || ModelStageSchema.safeParse(suffix).success) {
    const all = await allVersionsOf(store, name);
    const matching = suffix === 'latest' ? all : all.filter((version) => version.stage === suffix);
    return matching.at(-1);
  }
  const target = model.aliases[suffix];
  return target === undefined ? undefined : store.versions.get(target);
}

/** {@link resolveVersion}, with `NOT_FOUND` when nothing matches. */
export async function requireVersion(store: RegistryStore, reference: string): Promise<ModelVersion> {
  const version = await resolveVersion(store, reference);
  if (version === undefined) {
    throw tunekitError('NOT_FOUND', `No model version "${reference}"`, { reference });
  }
  return version;
}
