import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelVersion } from '@tunekit/core';
import type { Embedder } from '../embedders/embedder.js';
import { embeddingText } from '../model-filters.js';
import { buildHnswIndexFile } from './build-hnsw-index-file.js';
import type { HnswParameters } from './hnsw-parameters.js';
import { createHnswVectorIndex } from './hnsw-vector-index.js';
import type { VectorIndex } from './vector-index.js';
import { checkDimensions } from './vector-math.js';

/** Inputs of {@link buildVectorIndex}. */
export interface BuildVectorIndexOptions {
  embedder: Embedder;
  /** The versions to index (a repeated id keeps its last version). */
  versions: readonly ModelVersion[];
  hnsw?: HnswParameters;
  /** Texts embedded per call (default 256). */
  batchSize?: number;
  /**
   * Catalogues of at least this many versions are built in a worker thread (default 1,000); smaller
   * ones in this thread, where a build of 1,000 cards holds it for about 1.5 s at efConstruction 200
   * and a worker's start costs about 50 ms.
   */
  workerThreshold?: number;
}

/**
 * Embeds `texts` in batches into one row-major buffer of `dimensions` floats per text (one copy of
 * the vectors, transferable to a worker). Yields to the event loop between batches, so the calling
 * thread answers other work meanwhile, even when the embedder computes synchronously.
 */
export async function embedIntoBuffer(
  embedder: Embedder,
  texts: readonly string[],
  batchSize = 256,
): Promise<Float32Array<ArrayBuffer>> {
  const { dimensions } = embedder;
  const buffer = new Float32Array(texts.length * dimensions);
  for (let start = 0; start < texts.length; start += batchSize) {
    // A turn of the event loop per batch: an embedder that computes in this thread (the hashing
    // embedder) resolves at once, and awaiting it alone yields only to microtasks, so without this
    // the whole catalogue was embedded in one task (394 ms at 20,000 table-embedded cards, load 15;
    // minutes at 1,000,000 hashed ones) while queries waited (`bench/registry-rebuild-gap.ts`).
    if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    const vectors = await embedder.embed(texts.slice(start, start + batchSize));
    vectors.forEach((vector, position) => {
      checkDimensions(vector, dimensions);
      buffer.set(vector, (start + position) * dimensions);
    });
  }
  return buffer;
}

/**
 * Embeds every version (from {@link embeddingText}) and builds a {@link VectorIndex} of them, label
 * `i` for the `i`-th distinct id, with capacity for 25% growth. At `workerThreshold` versions or
 * more, hnswlib's graph is built in a worker thread ({@link buildHnswIndexFile}) and loaded back
 * from its file: the calling thread keeps serving (queries, HTTP) for the whole build, which at
 * 100,000 cards takes minutes of a core.
 */
export async function buildVectorIndex(options: BuildVectorIndexOptions): Promise<VectorIndex> {
  const { embedder } = options;
  const versions = [...new Map(options.versions.map((version) => [version.id, version])).values()];
  const capacity = Math.max(options.hnsw?.capacity ?? 1024, Math.ceil(versions.length * 1.25));
  // The texts in slices with a turn of the event loop between them (about 1 s of CPU at 1,000,000
  // versions, which would otherwise hold the thread answering queries during a background rebuild).
  const texts: string[] = [];
  for (let start = 0; start < versions.length; start += 4096) {
    if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    for (const version of versions.slice(start, start + 4096)) texts.push(embeddingText(version));
  }
  const vectors = await embedIntoBuffer(embedder, texts, options.batchSize);
  const { dimensions } = embedder;
  if (versions.length < (options.workerThreshold ?? 1000)) {
    const index = await createHnswVectorIndex(dimensions, { ...options.hnsw, capacity });
    versions.forEach((version, label) => {
      index.upsert(version.id, vectors.subarray(label * dimensions, (label + 1) * dimensions));
    });
    return index;
  }
  const scratch = await mkdtemp(join(tmpdir(), 'tunekit-index-build-'));
  try {
    const path = join(scratch, 'hnsw.bin');
    await buildHnswIndexFile(vectors, dimensions, path, {
      m: options.hnsw?.m,
      efConstruction: options.hnsw?.efConstruction,
      seed: options.hnsw?.seed,
      capacity,
    });
    return await createHnswVectorIndex(dimensions, options.hnsw, {
      path,
      labels: versions.map((version) => version.id),
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
