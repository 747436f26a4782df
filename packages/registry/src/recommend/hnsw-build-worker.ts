/**
 * Worker-thread entry of {@link buildHnswIndexFile}: adds every vector to a fresh hnswlib graph and
 * writes its index file. hnswlib-node's `addPoint` is synchronous native code (about 1.5 ms per
 * 384-dimensional point at efConstruction 200), so a build of 100,000 cards holds its thread for
 * minutes: here it holds this worker's, not the one answering queries.
 */
import { stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import { type HnswBuildMessage, HnswBuildRequestSchema } from './hnsw-build-protocol.js';
import type { HnswConstructor } from './load-hnswlib.js';

const port = parentPort;
if (!port) throw new Error('hnsw-build-worker must run in a worker thread');
const send = (message: HnswBuildMessage) => port.postMessage(message);

port.once('message', (message: unknown) => {
  void (async () => {
    try {
      const request = HnswBuildRequestSchema.parse(message);
      const { dimensions, vectors } = request;
      const count = vectors.length / dimensions;
      if (!Number.isInteger(count) || count > request.capacity) {
        throw new Error(
          `${vectors.length} floats are not ${request.capacity} or fewer rows of ${dimensions}`,
        );
      }
      const started = performance.now();
      // hnswlib-node alone (not `loadHnswlib`, whose coded errors pull in all of @tunekit/core): a
      // failure here reaches the caller as a `failed` message, coded there.
      const module = (await import('hnswlib-node')) as unknown as {
        HierarchicalNSW?: HnswConstructor;
        default?: { HierarchicalNSW: HnswConstructor };
      };
      const Hnsw = module.HierarchicalNSW ?? module.default?.HierarchicalNSW;
      if (Hnsw === undefined) throw new Error('hnswlib-node exports no HierarchicalNSW');
      const graph = new Hnsw('cosine', dimensions);
      graph.initIndex({
        maxElements: request.capacity,
        m: request.m,
        efConstruction: request.efConstruction,
        randomSeed: request.seed,
      });
      const cancelled = () => Atomics.load(request.cancel, 0) !== 0;
      for (let label = 0; label < count; label += 1) {
        // Cancelled: stop here, between two native calls; the caller has already rejected.
        if (cancelled()) return;
        graph.addPoint(Array.from(vectors.subarray(label * dimensions, (label + 1) * dimensions)), label);
        if (request.progressEvery > 0 && (label + 1) % request.progressEvery === 0) {
          send({ type: 'progress', added: label + 1 });
        }
      }
      if (cancelled()) return;
      // hnswlib-node resolves even when it could not open the file (a missing folder): check it exists.
      if ((await graph.writeIndex(request.path)) === false)
        throw new Error(`could not write ${request.path}`);
      await stat(request.path);
      send({ type: 'built', elements: count, seconds: (performance.now() - started) / 1000 });
    } catch (error) {
      send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
    }
  })();
});
