import { createHash } from 'node:crypto';
import {
  type ArtifactStore,
  type Embedder,
  type EventBus,
  type Logger,
  type ModelVersion,
  TunekitError,
} from '@tunekit/core';
import { fnv1a32 } from '@tunekit/core/statistics';
import { z } from 'zod';
import { embeddingText } from '../model-filters.js';
import {
  createHnswVectorIndex,
  type HnswParameters,
  type VectorIndex,
  type VectorSearchHit,
} from './hnsw-vector-index.js';

/** Metadata persisted next to the hnswlib file. */
export const RecommendationIndexMetadataSchema = z.object({
  format: z.literal(1),
  embedder: z.string().min(1),
  dimensions: z.number().int().positive(),
  /** sha256 of the hnswlib file, checked before loading it. */
  sha256: z.string().length(64),
  /** `labels[label]`: the version id, or null when deleted. */
  labels: z.array(z.string().nullable()),
  /** Version id → FNV-1a of the text it was embedded from (re-embedded when the text changes). */
  fingerprints: z.record(z.string(), z.number().int()),
  savedAt: z.string(),
});

/** Metadata persisted next to the hnswlib file. */
export type RecommendationIndexMetadata = z.infer<typeof RecommendationIndexMetadataSchema>;

/** Options of {@link createRecommendationIndex}. */
export interface RecommendationIndexOptions {
  artifacts: ArtifactStore;
  /** Folder URI of the index files (default `artifact://registry/index`). */
  folderUri?: string;
  /** The embedder to use, resolved when the index is first needed. */
  resolveEmbedder: () => Embedder;
  /** Every stored model version (the source of truth the index is checked and rebuilt against). */
  loadVersions: () => Promise<ModelVersion[]>;
  events?: EventBus;
  logger?: Logger;
  hnsw?: HnswParameters;
  /** Texts embedded per call while rebuilding (default 256). */
  batchSize?: number;
}

/** How the index came to be when it was (re)loaded. */
export type IndexLoadOutcome =
  | { kind: 'loaded'; added: number; removed: number; reembedded: number }
  | { kind: 'rebuilt'; reason: 'missing' | 'corrupt' | 'embedder-changed' | 'requested' };

/**
 * The registry's semantic index: one vector per model version (embedded from its name, task, base
 * model, languages, tags and description), searched by cosine similarity.
 *
 * Persisted in the artifact store as `<folder>/hnsw.bin` (hnswlib's file) and `<folder>/index.json`
 * (embedder name and dimensions, checksum, labels, text fingerprints). Loaded lazily on first use and
 * reconciled with storage then: versions added, deleted or edited elsewhere are added, marked deleted
 * or re-embedded. Rebuilt from storage when the files are missing or corrupt or the embedder's name or
 * dimensions changed; losing the files loses nothing. Writes are coalesced: each change schedules one
 * save, and {@link RecommendationIndex.flush} waits for it.
 */
export interface RecommendationIndex {
  /** Loads (or rebuilds) the index if not loaded yet; returns how. */
  ensureLoaded(): Promise<IndexLoadOutcome | undefined>;
  /** Adds or re-embeds a version (and keeps its record for filters). */
  upsert(version: ModelVersion): Promise<void>;
  /** Refreshes the record used by filters (stage changes) without re-embedding. */
  refresh(version: ModelVersion): Promise<void>;
  /** Marks a version deleted in the index. */
  remove(versionId: string): Promise<void>;
  /** Nearest versions to a vector, best first; `exclude` drops one id (the query model itself). */
  search(
    vector: ArrayLike<number>,
    k: number,
    filter?: (version: ModelVersion) => boolean,
    exclude?: string,
  ): Promise<Array<{ version: ModelVersion; score: number }>>;
  /** Embeds a query text with the index's embedder. */
  embed(text: string): Promise<Float32Array>;
  /** The stored vector of a version (undefined when not indexed). */
  vectorOf(versionId: string): Promise<Float32Array | undefined>;
  /** Rebuilds from storage now. */
  rebuild(): Promise<void>;
  /** Waits for pending saves. */
  flush(): Promise<void>;
  /** Embedder name, dimensions and item count (loads the index). */
  stats(): Promise<{ embedder: string; dimensions: number; items: number; capacity: number }>;
  /** Forgets the loaded index (the next use loads it from the artifact store again). */
  unload(): Promise<void>;
}

interface LoadedState {
  embedder: Embedder;
  index: VectorIndex;
  records: Map<string, ModelVersion>;
  fingerprints: Map<string, number>;
}

const fingerprint = (version: ModelVersion) => fnv1a32(embeddingText(version));

/** Creates the registry's {@link RecommendationIndex}. */
export function createRecommendationIndex(options: RecommendationIndexOptions): RecommendationIndex {
  const { artifacts } = options;
  const folder = (options.folderUri ?? 'artifact://registry/index').replace(/\/+$/, '');
  const binaryUri = `${folder}/hnsw.bin`;
  const metadataUri = `${folder}/index.json`;
  const batchSize = options.batchSize ?? 256;
  let state: LoadedState | undefined;
  let loading: Promise<IndexLoadOutcome | undefined> | undefined;
  let saving: Promise<void> = Promise.resolve();
  let saveScheduled = false;
  // Serializes mutations so that a rebuild never interleaves with an upsert.
  let tail: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const result = tail.then(work, work);
    tail = result.catch(() => undefined);
    return result;
  };

  const embedAll = async (embedder: Embedder, versions: ModelVersion[]): Promise<Float32Array[]> => {
    const vectors: Float32Array[] = [];
    for (let start = 0; start < versions.length; start += batchSize) {
      const batch = versions.slice(start, start + batchSize);
      vectors.push(...(await embedder.embed(batch.map(embeddingText))));
    }
    return vectors;
  };

  const save = async (): Promise<void> => {
    const current = state;
    if (current === undefined) return;
    const serialized = await current.index.serialize();
    const metadata: RecommendationIndexMetadata = {
      format: 1,
      embedder: current.embedder.name,
      dimensions: current.embedder.dimensions,
      sha256: createHash('sha256').update(serialized.bytes).digest('hex'),
      labels: serialized.labels,
      fingerprints: Object.fromEntries(current.fingerprints),
      savedAt: new Date().toISOString(),
    };
    // The binary first: a reader that sees new metadata with an old binary fails the checksum and rebuilds.
    await artifacts.put(binaryUri, serialized.bytes);
    await artifacts.put(metadataUri, JSON.stringify(metadata));
  };

  const scheduleSave = () => {
    if (saveScheduled) return;
    saveScheduled = true;
    saving = saving.then(async () => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      saveScheduled = false;
      try {
        await exclusive(save);
      } catch (error) {
        options.logger?.warn({ err: error }, 'Saving the registry recommendation index failed');
      }
    });
  };

  const build = async (
    embedder: Embedder,
    versions: ModelVersion[],
    reason: 'missing' | 'corrupt' | 'embedder-changed' | 'requested',
  ): Promise<LoadedState> => {
    const index = await createHnswVectorIndex(embedder.dimensions, {
      ...options.hnsw,
      capacity: Math.max(options.hnsw?.capacity ?? 1024, Math.ceil(versions.length * 1.25)),
    });
    const vectors = await embedAll(embedder, versions);
    for (const [position, version] of versions.entries()) {
      index.upsert(version.id, vectors[position] as Float32Array);
    }
    const built: LoadedState = {
      embedder,
      index,
      records: new Map(versions.map((version) => [version.id, version])),
      fingerprints: new Map(versions.map((version) => [version.id, fingerprint(version)])),
    };
    options.logger?.info({ reason, items: versions.length }, 'Rebuilt the registry recommendation index');
    options.events?.emit('registry:index-rebuilt', {
      reason,
      items: versions.length,
      embedder: embedder.name,
      dimensions: embedder.dimensions,
    });
    return built;
  };

  const readPersisted = async (
    embedder: Embedder,
  ): Promise<
    { index: VectorIndex; metadata: RecommendationIndexMetadata } | 'missing' | 'corrupt' | 'embedder-changed'
  > => {
    if (!(await artifacts.exists(metadataUri)) || !(await artifacts.exists(binaryUri))) return 'missing';
    let metadata: RecommendationIndexMetadata;
    try {
      metadata = RecommendationIndexMetadataSchema.parse(
        JSON.parse(new TextDecoder().decode(await artifacts.get(metadataUri))),
      );
    } catch {
      return 'corrupt';
    }
    if (metadata.embedder !== embedder.name || metadata.dimensions !== embedder.dimensions) {
      return 'embedder-changed';
    }
    try {
      const bytes = await artifacts.get(binaryUri);
      if (createHash('sha256').update(bytes).digest('hex') !== metadata.sha256) return 'corrupt';
      const index = await createHnswVectorIndex(embedder.dimensions, options.hnsw, {
        bytes,
        labels: metadata.labels,
      });
      return { index, metadata };
    } catch (error) {
      if (TunekitError.isInstance(error) && error.code !== 'ARTIFACT_CHECKSUM_MISMATCH') throw error;
      return 'corrupt';
    }
  };

  const load = async (): Promise<IndexLoadOutcome> => {
    const embedder = options.resolveEmbedder();
    const versions = await options.loadVersions();
    const persisted = await readPersisted(embedder);
    if (typeof persisted === 'string') {
      state = await build(embedder, versions, persisted);
      scheduleSave();
      return { kind: 'rebuilt', reason: persisted };
    }
    // Reconcile with storage: other processes (or a crash before a save) may have changed versions.
    const { index, metadata } = persisted;
    const records = new Map(versions.map((version) => [version.id, version]));
    const fingerprints = new Map(Object.entries(metadata.fingerprints));
    let removed = 0;
    for (const id of index.ids()) {
      if (!records.has(id)) {
        index.remove(id);
        fingerprints.delete(id);
        removed += 1;
      }
    }
    const stale = versions.filter((version) => fingerprints.get(version.id) !== fingerprint(version));
    const added = stale.filter((version) => !index.has(version.id)).length;
    const vectors = await embedAll(embedder, stale);
    stale.forEach((version, position) => {
      index.upsert(version.id, vectors[position] as Float32Array);
      fingerprints.set(version.id, fingerprint(version));
    });
    state = { embedder, index, records, fingerprints };
    if (stale.length > 0 || removed > 0) scheduleSave();
    return { kind: 'loaded', added, removed, reembedded: stale.length - added };
  };

  const ensure = async (): Promise<LoadedState> => {
    if (state === undefined) {
      loading ??= exclusive(load).finally(() => {
        loading = undefined;
      });
      await loading;
    }
    return state as LoadedState;
  };

  return {
    async ensureLoaded() {
      if (state !== undefined) return undefined;
      loading ??= exclusive(load).finally(() => {
        loading = undefined;
      });
      return loading;
    },
    async upsert(version) {
      await ensure();
      await exclusive(async () => {
        const current = state as LoadedState;
        const print = fingerprint(version);
        current.records.set(version.id, version);
        if (current.fingerprints.get(version.id) === print && current.index.has(version.id)) return;
        const [vector] = await current.embedder.embed([embeddingText(version)]);
        current.index.upsert(version.id, vector as Float32Array);
        current.fingerprints.set(version.id, print);
        scheduleSave();
      });
    },
    async refresh(version) {
      if (state === undefined) return;
      state.records.set(version.id, version);
    },
    async remove(versionId) {
      await ensure();
      await exclusive(async () => {
        const current = state as LoadedState;
        current.records.delete(versionId);
        current.fingerprints.delete(versionId);
        if (current.index.remove(versionId)) scheduleSave();
      });
    },
    async search(vector, k, filter, exclude) {
      const current = await ensure();
      const accept = (id: string) => {
        if (id === exclude) return false;
        const record = current.records.get(id);
        return record !== undefined && (filter === undefined || filter(record));
      };
      const needsFilter = filter !== undefined || exclude !== undefined;
      const hits: VectorSearchHit[] = current.index.search(vector, k, needsFilter ? accept : undefined);
      return hits.map((hit) => ({ version: current.records.get(hit.id) as ModelVersion, score: hit.score }));
    },
    async embed(text) {
      const current = await ensure();
      const [vector] = await current.embedder.embed([text]);
      return vector as Float32Array;
    },
    async vectorOf(versionId) {
      const current = await ensure();
      return current.index.vector(versionId);
    },
    async rebuild() {
      await exclusive(async () => {
        state = await build(options.resolveEmbedder(), await options.loadVersions(), 'requested');
      });
      scheduleSave();
      await this.flush();
    },
    async flush() {
      // A save scheduled while another one runs is chained behind it; wait until none is left.
      let pending: Promise<void>;
      do {
        pending = saving;
        await pending;
      } while (pending !== saving || saveScheduled);
    },
    async stats() {
      const current = await ensure();
      return {
        embedder: current.embedder.name,
        dimensions: current.embedder.dimensions,
        items: current.index.size,
        capacity: current.index.capacity,
      };
    },
    async unload() {
      await this.flush();
      await exclusive(async () => {
        state = undefined;
      });
    },
  };
}
