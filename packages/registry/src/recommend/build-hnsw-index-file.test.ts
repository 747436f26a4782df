import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TunekitError } from '@tunekit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { buildHnswIndexFile } from './build-hnsw-index-file.js';
import { createHnswVectorIndex } from './hnsw-vector-index.js';

const DIMENSIONS = 32;

/** Deterministic vectors from a 32-bit LCG in [-1, 1). */
function randomVectors(count: number, seed: number): Float32Array<ArrayBuffer> {
  let state = seed >>> 0;
  return Float32Array.from({ length: count * DIMENSIONS }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2147483648 - 1;
  });
}

describe('buildHnswIndexFile', () => {
  const folders: string[] = [];
  afterAll(async () => {
    await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
  });

  it('builds in a worker the same graph as upserting in order, loadable by createHnswVectorIndex', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'tunekit-hnsw-build-test-'));
    folders.push(folder);
    const count = 1500;
    const vectors = randomVectors(count, 7);
    const rows = Array.from({ length: count }, (_, label) =>
      vectors.slice(label * DIMENSIONS, (label + 1) * DIMENSIONS),
    );
    const parameters = { m: 8, efConstruction: 64, efSearch: 16, seed: 5 };
    const inProcess = await createHnswVectorIndex(DIMENSIONS, { ...parameters, capacity: 2000 });
    rows.forEach((row, label) => {
      inProcess.upsert(`item-${label}`, row);
    });

    const progress: number[] = [];
    const path = join(folder, 'hnsw.bin');
    const result = await buildHnswIndexFile(vectors, DIMENSIONS, path, {
      ...parameters,
      capacity: 2000,
      onProgress: (added) => progress.push(added),
      progressEvery: 500,
    });
    expect(result.elements).toBe(count);
    expect(progress).toEqual([500, 1000, 1500]);
    // The buffer went to the worker (transferred, not copied).
    expect(vectors.length).toBe(0);

    const loaded = await createHnswVectorIndex(DIMENSIONS, parameters, {
      path,
      labels: rows.map((_, label) => `item-${label}`),
    });
    expect(loaded.size).toBe(count);
    expect(loaded.capacity).toBe(2000);
    // A small efSearch makes the graph's answers approximate: equal answers mean equal graphs.
    const queries = randomVectors(40, 99);
    for (let query = 0; query < 40; query += 1) {
      const vector = queries.subarray(query * DIMENSIONS, (query + 1) * DIMENSIONS);
      expect(loaded.search(vector, 10)).toEqual(inProcess.search(vector, 10));
    }
  });

  it('rejects with REGISTRY_INDEX_BUILD_FAILED when the worker cannot write the file', async () => {
    const error = await buildHnswIndexFile(
      randomVectors(20, 3),
      DIMENSIONS,
      join(tmpdir(), 'tunekit-no-such-folder', 'missing', 'hnsw.bin'),
    ).catch((caught: unknown) => caught);
    expect(TunekitError.isInstance(error) && error.code).toBe('REGISTRY_INDEX_BUILD_FAILED');
  });

  it('rejects with the abort reason and stops the worker when aborted, without ever crashing the process', async () => {
    // Terminating the worker inside hnswlib's native addPoint aborted the whole process
    // (`FATAL ERROR: Error::ThrowAsJavaScriptException napi_throw`, about 1 run in 6): the worker
    // now stops itself between two points. Thirty aborts make that crash likely on the old code (not certain: it needs the termination to land inside a native call).
    const folder = await mkdtemp(join(tmpdir(), 'tunekit-hnsw-abort-test-'));
    folders.push(folder);
    for (let attempt = 0; attempt < 30; attempt += 1) {
      const controller = new AbortController();
      const path = join(folder, `aborted-${attempt}.bin`);
      const building = buildHnswIndexFile(randomVectors(20_000, 4 + attempt), DIMENSIONS, path, {
        signal: controller.signal,
        onProgress: () => controller.abort(new Error('stop')),
        progressEvery: 100 + attempt * 37,
      });
      await expect(building).rejects.toThrow('stop');
    }
    // The cancelled workers stopped before writing their files (a whole build of 20,000 points
    // would have written them by now).
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await expect(readdir(folder)).resolves.toEqual([]);
  });
});
