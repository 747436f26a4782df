import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { tunekitError } from '@tunekit/core';
import {
  type HnswBuildMessage,
  HnswBuildMessageSchema,
  type HnswBuildRequest,
} from './hnsw-build-protocol.js';

/** Graph parameters and controls of {@link buildHnswIndexFile}. */
export interface HnswIndexFileOptions {
  /** Links per node (default 16). */
  m?: number;
  /** Candidate list size while building (default 200). */
  efConstruction?: number;
  /** Random seed of level assignment (default 100). */
  seed?: number;
  /** Elements the graph can hold (default: the vector count, at least 16). */
  capacity?: number;
  /** Called with the points added so far, every `progressEvery` points (default 10,000). */
  onProgress?: (added: number) => void;
  progressEvery?: number;
  /**
   * Aborting rejects the promise with the signal's reason at once and tells the worker to stop
   * before its next point (it is not terminated inside hnswlib's native code, which would abort the
   * process).
   */
  signal?: AbortSignal;
}

/**
 * The worker entry: the built `.js` next to this file, or, when running from TypeScript sources
 * (tests, `tsx`), a bootstrap that registers tsx's loader in the worker and imports the `.ts` entry
 * (as the trainer's `trainInWorker` does).
 */
function workerEntry(): URL {
  const self = import.meta.url;
  if (!self.endsWith('.ts')) return new URL('./hnsw-build-worker.js', self);
  const require = createRequire(self);
  const tsx = pathToFileURL(require.resolve('tsx/esm/api').replace(/index\.cjs$/, 'index.mjs')).href;
  const entry = new URL('./hnsw-build-worker.ts', self).href;
  const code = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(entry)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}

const failed = (message: string, cause?: unknown) =>
  tunekitError('REGISTRY_INDEX_BUILD_FAILED', `Building the HNSW index failed: ${message}`, undefined, {
    cause,
  });

/**
 * Builds an hnswlib cosine index of `vectors` (row `label` of `dimensions` floats is label `label`)
 * in a worker thread and writes its index file to `path`, which {@link createHnswVectorIndex} then
 * loads. The calling thread stays free to answer queries meanwhile: hnswlib's `addPoint` is
 * synchronous native code. The graph is the same as upserting the rows in order into an index
 * created with the same parameters. `vectors`' buffer is transferred to the worker (it is detached
 * here afterwards). Rejects with `REGISTRY_INDEX_BUILD_FAILED` when the worker fails or exits.
 *
 * @example
 * ```ts
 * await buildHnswIndexFile(vectors, 384, '/tmp/hnsw.bin', { efConstruction: 200 });
 * const index = await createHnswVectorIndex(384, {}, { path: '/tmp/hnsw.bin', labels: ids });
 * ```
 */
export function buildHnswIndexFile(
  vectors: Float32Array<ArrayBuffer>,
  dimensions: number,
  path: string,
  options: HnswIndexFileOptions = {},
): Promise<{ elements: number; seconds: number }> {
  const count = Math.floor(vectors.length / dimensions);
  const request: HnswBuildRequest = {
    dimensions,
    m: options.m ?? 16,
    efConstruction: options.efConstruction ?? 200,
    seed: options.seed ?? 100,
    capacity: Math.max(16, count, options.capacity ?? 0),
    vectors,
    path,
    progressEvery: options.onProgress === undefined ? 0 : (options.progressEvery ?? 10_000),
    cancel: new Int32Array(new SharedArrayBuffer(4)),
  };
  if (options.signal?.aborted) return Promise.reject(options.signal.reason);
  const worker = new Worker(workerEntry());
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (action: () => void, stopWorker: 'terminate' | 'cancel' = 'terminate') => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      action();
      if (stopWorker === 'terminate') {
        // The worker has answered or died: it is not inside native code any more.
        void worker.terminate();
      } else {
        // It may be inside `addPoint`: ask it to stop before the next point and let it exit by itself.
        Atomics.store(request.cancel, 0, 1);
        worker.unref();
      }
    };
    const onAbort = () => finish(() => reject(options.signal?.reason), 'cancel');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (raw: unknown) => {
      const parsed = HnswBuildMessageSchema.safeParse(raw);
      if (!parsed.success) {
        finish(() => reject(failed(`unexpected worker message: ${parsed.error.message}`)));
        return;
      }
      const message: HnswBuildMessage = parsed.data;
      if (message.type === 'progress') options.onProgress?.(message.added);
      else if (message.type === 'built')
        finish(() => resolve({ elements: message.elements, seconds: message.seconds }));
      else finish(() => reject(failed(message.message)));
    });
    worker.on('error', (error) =>
      finish(() => reject(failed(`the worker crashed: ${error.message}`, error))),
    );
    worker.on('exit', (code) => finish(() => reject(failed(`the worker exited with code ${code}`))));
    worker.postMessage(request, [vectors.buffer]);
  });
}
