import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  type ArtifactStore,
  type EventBus,
  type Logger,
  type ModelVersion,
  TunekitError,
} from '@tunekit/core';
import { fnv1a32 } from '@tunekit/core/statistics';
import { z } from 'zod';
import type { Embedder } from '../embedders/embedder.js';
import { embeddingText, type ModelFilters } from '../model-filters.js';
import { buildVectorIndex } from './build-vector-index.js';
import { type HnswParameters, hnswParametersFor } from './hnsw-parameters.js';
import { createHnswVectorIndex } from './hnsw-vector-index.js';
import { decodeLabelTable, encodeLabelTable } from './label-table.js';
import type { VectorIndex, VectorSearchHit } from './vector-index.js';
import { VersionRecords } from './version-records.js';

const metadataCommon = {
  embedder: z.string().min(1),
  dimensions: z.number().int().positive(),
  /** sha256 of the hnswlib file, checked before loading it. */
  sha256: z.string().length(64),
  savedAt: z.string(),
};

/**
 * Metadata persisted next to the hnswlib file. Format 2 (written now) keeps the labels and text
 * fingerprints in the binary `labels.bin` ({@link encodeLabelTable}) and its checksum here; format 1
 * (still read) held them in this JSON, which at 1,000,000 cards took ~40 s to write and read back.
 */
export const RecommendationIndexMetadataSchema = z.discriminatedUnion('format', [
  z.object({
    format: z.literal(1),
    ...metadataCommon,
    /** `labels[label]`: the version id, or null when deleted. */
    labels: z.array(z.string().nullable()),
    /** Version id → FNV-1a of the text it was embedded from (re-embedded when the text changes). */
    fingerprints: z.record(z.string(), z.number().int()),
  }),
  z.object({
    format: z.literal(2),
    ...metadataCommon,
    /** Labels in the table (live and deleted). */
    labelCount: z.number().int().min(0),
    /** sha256 of `labels.bin`. */
    labelsSha256: z.string().length(64),
  }),
]);

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
  /**
   * Catalogues of at least this many versions build their graph in a worker thread (default 1,000;
   * see {@link buildVectorIndex}), so that a build never blocks this thread's event loop.
   */
  workerBuildThreshold?: number;
  /**
   * When changes are written back. Each save rewrites the whole hnswlib file (~1.7 KB per card at
   * 384 dimensions: 1.7 GB at 1,000,000 cards), so a save follows at once only when the unsaved
   * changes reach `changeFraction` of the items (default 0.01, at least 1: small catalogues save
   * every change), and otherwise after `delaySeconds` (default 300). Unsaved changes are never lost:
   * loading reconciles the index with storage (adds, re-embeds and removes what differs), and
   * {@link RecommendationIndex.flush} saves them now.
   */
  snapshot?: { changeFraction?: number; delaySeconds?: number };
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
  /**
   * Nearest versions to a vector, best first; `exclude` drops one id (the query model itself). A
   * structured filter ({@link ModelFilters}) is answered from an attribute index of the records
   * (its matches searched among exactly when few, through the graph when many); a predicate is
   * tested on the versions the search meets.
   */
  search(
    vector: ArrayLike<number>,
    k: number,
    filter?: ModelFilters | ((version: ModelVersion) => boolean),
    exclude?: string,
  ): Promise<Array<{ version: ModelVersion; score: number }>>;
  /** Embeds a query text with the index's embedder. */
  embed(text: string): Promise<Float32Array>;
  /** The stored vector of a version (undefined when not indexed). */
  vectorOf(versionId: string): Promise<Float32Array | undefined>;
  /**
   * Rebuilds from storage now and saves the result. While an index is loaded, the new one is built in
   * the background (its graph in a worker thread at `workerBuildThreshold` versions or more):
   * searches keep answering from the current index, changes made meanwhile apply to it at once and
   * are replayed on the new one, which then replaces it in one step. A call during a rebuild waits
   * for that one.
   */
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
  records: VersionRecords;
  fingerprints: Map<string, number>;
}

const fingerprint = (version: ModelVersion) => fnv1a32(embeddingText(version));

/** Creates the registry's {@link RecommendationIndex}. */
export function createRecommendationIndex(options: RecommendationIndexOptions): RecommendationIndex {
  const { artifacts } = options;
  const folder = (options.folderUri ?? 'artifact://registry/index').replace(/\/+$/, '');
  const binaryUri = `${folder}/hnsw.bin`;
  const labelsUri = `${folder}/labels.bin`;
  const metadataUri = `${folder}/index.json`;
  const batchSize = options.batchSize ?? 256;
  const changeFraction = options.snapshot?.changeFraction ?? 0.01;
  const delaySeconds = options.snapshot?.delaySeconds ?? 300;
  let state: LoadedState | undefined;
  let loading: Promise<IndexLoadOutcome | undefined> | undefined;
  let saving: Promise<void> = Promise.resolve();
  let saveScheduled = false;
  // Changes since the last save, and the timer that saves them when they stay few.
  let unsavedChanges = 0;
  let saveTimer: NodeJS.Timeout | undefined;
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
    unsavedChanges = 0;
    // hnswlib writes a file; it is streamed to the store, never held whole in memory.
    const scratch = await mkdtemp(join(tmpdir(), 'tunekit-index-'));
    try {
      const path = join(scratch, 'hnsw.bin');
      const labels = await current.index.writeIndexFile(path);
      const fingerprints = Uint32Array.from(labels, (id) =>
        id === null ? 0 : (current.fingerprints.get(id) ?? 0),
      );
      const table = encodeLabelTable({ labels, fingerprints });
      // The binary files first: a reader that sees new metadata with old files fails a checksum and rebuilds.
      const binary = await artifacts.put(binaryUri, createReadStream(path));
      const labelsInfo = await artifacts.put(labelsUri, table);
      const metadata: RecommendationIndexMetadata = {
        format: 2,
        embedder: current.embedder.name,
        dimensions: current.embedder.dimensions,
        sha256: binary.sha256,
        labelCount: labels.length,
        labelsSha256: labelsInfo.sha256,
        savedAt: new Date().toISOString(),
      };
      await artifacts.put(metadataUri, JSON.stringify(metadata));
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  };

  const clearSaveTimer = () => {
    if (saveTimer !== undefined) clearTimeout(saveTimer);
    saveTimer = undefined;
  };

  /** Counts a change; saves now when enough have gathered, otherwise within `delaySeconds`. */
  const changed = (count = 1) => {
    unsavedChanges += count;
    const items = state?.index.size ?? 0;
    if (unsavedChanges >= Math.max(1, Math.ceil(changeFraction * items))) {
      scheduleSave();
      return;
    }
    if (saveTimer === undefined) {
      saveTimer = setTimeout(() => {
        saveTimer = undefined;
        if (unsavedChanges > 0) scheduleSave();
      }, delaySeconds * 1000);
      // A pending snapshot never keeps the process alive (loading reconciles what was not saved).
      saveTimer.unref();
    }
  };

  const scheduleSave = () => {
    clearSaveTimer();
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

  const build = async (embedder: Embedder, versions: ModelVersion[]): Promise<LoadedState> => {
    const index = await buildVectorIndex({
      embedder,
      versions,
      hnsw: hnswParametersFor(options.hnsw, embedder),
      batchSize,
      workerThreshold: options.workerBuildThreshold,
    });
    const fingerprints = new Map<string, number>();
    const records = await VersionRecords.collect(versions, (version) =>
      fingerprints.set(version.id, fingerprint(version)),
    );
    return { embedder, index, records, fingerprints };
  };

  const announce = (built: LoadedState, reason: 'missing' | 'corrupt' | 'embedder-changed' | 'requested') => {
    options.logger?.info({ reason, items: built.index.size }, 'Rebuilt the registry recommendation index');
    options.events?.emit('registry:index-rebuilt', {
      reason,
      items: built.index.size,
      embedder: built.embedder.name,
      dimensions: built.embedder.dimensions,
    });
  };

  /**
   * Brings a freshly built state up to date with the current one for the ids changed while it was
   * built (`touched`), then makes it current. Synchronous from the first change to the swap, so no
   * search or refresh sees a half-replayed index; vectors are copied from the current index (the
   * same embedder) or, when the embedder changed, re-embedded afterwards.
   */
  const replayAndSwap = async (current: LoadedState, built: LoadedState, touched: Set<string>) => {
    const sameEmbedder =
      current.embedder.name === built.embedder.name &&
      current.embedder.dimensions === built.embedder.dimensions;
    const reembed: ModelVersion[] = [];
    for (const id of touched) {
      const record = current.records.get(id);
      if (record === undefined || !current.index.has(id)) {
        built.index.remove(id);
        built.fingerprints.delete(id);
        if (record === undefined) built.records.delete(id);
        else built.records.set(id, record);
        continue;
      }
      built.records.set(id, record);
      const print = current.fingerprints.get(id) as number;
      if (built.index.has(id) && built.fingerprints.get(id) === print) continue;
      const vector = sameEmbedder ? current.index.vector(id) : undefined;
      if (vector === undefined) {
        reembed.push(record);
        continue;
      }
      built.index.upsert(id, vector);
      built.fingerprints.set(id, print);
    }
    state = built;
    if (reembed.length === 0) return;
    const vectors = await built.embedder.embed(reembed.map(embeddingText));
    reembed.forEach((version, position) => {
      built.index.upsert(version.id, vectors[position] as Float32Array);
      built.fingerprints.set(version.id, fingerprint(version));
    });
  };

  // Ids changed while a background rebuild runs (replayed on the new index), and that rebuild.
  let journal: Set<string> | undefined;
  let rebuilding: Promise<void> | undefined;

  const rebuildInBackground = async (): Promise<void> => {
    const touched = new Set<string>();
    // Taken in the mutation queue: every change after this snapshot is journaled and replayed.
    const { embedder, versions } = await exclusive(async () => {
      journal = touched;
      return { embedder: options.resolveEmbedder(), versions: await options.loadVersions() };
    });
    try {
      const built = await build(embedder, versions);
      await exclusive(async () => {
        const current = state;
        // Unloaded meanwhile: the next use loads from the store (and reconciles) instead.
        if (current === undefined) return;
        journal = undefined;
        await replayAndSwap(current, built, touched);
        announce(built, 'requested');
      });
    } finally {
      if (journal === touched) journal = undefined;
    }
  };

  /**
   * The hnswlib file as a local path (the store's own file when it has one, otherwise a copy streamed
   * into `scratch`) once its sha256 matches; undefined when it does not.
   */
  const localBinary = async (expectedSha256: string, scratch: string): Promise<string | undefined> => {
    const hash = createHash('sha256');
    let path = artifacts.localPath?.(binaryUri);
    if (path !== undefined) {
      await pipeline(createReadStream(path), hash);
    } else {
      path = join(scratch, 'hnsw.bin');
      const file = createWriteStream(path);
      await pipeline(
        artifacts.stream(binaryUri),
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            hash.update(chunk);
            yield chunk;
          }
        },
        file,
      );
    }
    return hash.digest('hex') === expectedSha256 ? path : undefined;
  };

  /** Labels and fingerprints of persisted metadata (format 1 inline, format 2 from `labels.bin`). */
  const readLabels = async (
    metadata: RecommendationIndexMetadata,
  ): Promise<{ labels: Array<string | null>; fingerprints: Map<string, number> } | undefined> => {
    if (metadata.format === 1) {
      return { labels: metadata.labels, fingerprints: new Map(Object.entries(metadata.fingerprints)) };
    }
    if (!(await artifacts.exists(labelsUri))) return undefined;
    const bytes = await artifacts.get(labelsUri);
    if (createHash('sha256').update(bytes).digest('hex') !== metadata.labelsSha256) return undefined;
    const table = decodeLabelTable(bytes);
    if (table.labels.length !== metadata.labelCount) return undefined;
    const fingerprints = new Map<string, number>();
    table.labels.forEach((id, label) => {
      if (id !== null) fingerprints.set(id, table.fingerprints[label] as number);
    });
    return { labels: table.labels, fingerprints };
  };

  const readPersisted = async (
    embedder: Embedder,
  ): Promise<
    { index: VectorIndex; fingerprints: Map<string, number> } | 'missing' | 'corrupt' | 'embedder-changed'
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
    const scratch = await mkdtemp(join(tmpdir(), 'tunekit-index-'));
    try {
      const table = await readLabels(metadata);
      if (table === undefined) return 'corrupt';
      const path = await localBinary(metadata.sha256, scratch);
      if (path === undefined) return 'corrupt';
      const index = await createHnswVectorIndex(
        embedder.dimensions,
        hnswParametersFor(options.hnsw, embedder),
        {
          path,
          labels: table.labels,
        },
      );
      return { index, fingerprints: table.fingerprints };
    } catch (error) {
      if (
        TunekitError.isInstance(error) &&
        error.code !== 'ARTIFACT_CHECKSUM_MISMATCH' &&
        error.code !== 'VALIDATION_FAILED'
      )
        throw error;
      return 'corrupt';
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  };

  const load = async (): Promise<IndexLoadOutcome> => {
    const embedder = options.resolveEmbedder();
    const versions = await options.loadVersions();
    const persisted = await readPersisted(embedder);
    if (typeof persisted === 'string') {
      state = await build(embedder, versions);
      announce(state, persisted);
      scheduleSave();
      return { kind: 'rebuilt', reason: persisted };
    }
    // Reconcile with storage: other processes (or a crash before a save) may have changed versions.
    const { index, fingerprints } = persisted;
    const records = await VersionRecords.collect(versions);
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

  // A rebuild queued before this load may have made the index current already.
  const loadUnlessLoaded = async () => (state === undefined ? load() : undefined);

  const ensure = async (): Promise<LoadedState> => {
    if (state === undefined) {
      loading ??= exclusive(loadUnlessLoaded).finally(() => {
        loading = undefined;
      });
      await loading;
    }
    return state as LoadedState;
  };

  return {
    async ensureLoaded() {
      if (state !== undefined) return undefined;
      loading ??= exclusive(loadUnlessLoaded).finally(() => {
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
        journal?.add(version.id);
        if (current.fingerprints.get(version.id) === print && current.index.has(version.id)) return;
        const [vector] = await current.embedder.embed([embeddingText(version)]);
        current.index.upsert(version.id, vector as Float32Array);
        current.fingerprints.set(version.id, print);
        changed();
      });
    },
    async refresh(version) {
      if (state === undefined) return;
      state.records.set(version.id, version);
      journal?.add(version.id);
    },
    async remove(versionId) {
      await ensure();
      await exclusive(async () => {
        const current = state as LoadedState;
        current.records.delete(versionId);
        current.fingerprints.delete(versionId);
        journal?.add(versionId);
        if (current.index.remove(versionId)) changed();
      });
    },
    async search(vector, k, filter, exclude) {
      const current = await ensure();
      const found = (hits: VectorSearchHit[]) =>
        hits
          .filter((hit) => hit.id !== exclude)
          .slice(0, k)
          .map((hit) => ({ version: current.records.get(hit.id) as ModelVersion, score: hit.score }));
      // Structured filters: the attribute index names the matches, searched among exactly.
      const matches = typeof filter === 'object' ? current.records.attributes.matching(filter) : undefined;
      if (matches !== undefined) {
        const extra = exclude !== undefined && matches.has(exclude) ? 1 : 0;
        return found(current.index.searchAmong(vector, k + extra, matches));
      }
      const predicate = typeof filter === 'function' ? filter : undefined;
      const accept = (id: string) => {
        if (id === exclude) return false;
        const record = current.records.get(id);
        return record !== undefined && (predicate === undefined || predicate(record));
      };
      const needsFilter = predicate !== undefined || exclude !== undefined;
      return found(current.index.search(vector, k, needsFilter ? accept : undefined));
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
      if (state === undefined && rebuilding === undefined) {
        // Nothing loaded to answer from meanwhile: build in the mutation queue, as a first load does.
        await exclusive(async () => {
          const built = await build(options.resolveEmbedder(), await options.loadVersions());
          state = built;
          announce(built, 'requested');
        });
      } else {
        rebuilding ??= rebuildInBackground().finally(() => {
          rebuilding = undefined;
        });
        await rebuilding;
      }
      scheduleSave();
      await this.flush();
    },
    async flush() {
      if (unsavedChanges > 0) scheduleSave();
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
      clearSaveTimer();
      await exclusive(async () => {
        state = undefined;
      });
    },
  };
}
