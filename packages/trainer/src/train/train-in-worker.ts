import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type EventBus, relayedTunekitError, tunekitError } from '@tunekit/core';
import { jobMemoryLimitError, type MemoryWatchdog, startMemoryWatchdog } from './memory-watchdog.js';
import type { TrainingResult } from './training-run.js';
import type { MainToWorkerMessage, WorkerToMainMessage, WorkerTrainingRequest } from './worker-protocol.js';

/** Controls of {@link trainInWorker}. */
export interface TrainInWorkerControls {
  /** Aborting sends `cancel`: the worker stops at its next step and leaves a checkpoint. */
  signal?: AbortSignal;
  /** The worker's `training:*`, `checkpoint:*` and `warning:raised` events are re-emitted here. */
  events?: Pick<EventBus, 'emit'>;
  onProgress?: (progress: number, metrics: Record<string, number>) => void;
  /**
   * Memory the job may use, in MiB. The worker's JavaScript heap is limited to it (at least
   * {@link MINIMUM_WORKER_HEAP_MB}), and every `MEMORY_WATCH_INTERVAL_MS` ms the process's
   * resident memory is compared with what it was when the job started: past the limit the worker is
   * terminated and the job fails with `JOB_MEMORY_LIMIT`. The growth is the whole process's, so
   * other work running in it at the same time counts too. Absent: no limit.
   */
  memoryLimitMb?: number;
}

/**
 * Smallest JavaScript heap a training worker gets (MiB): below it V8 cannot even load the worker's
 * modules; a smaller job limit is still enforced, by the resident-memory watchdog.
 */
export const MINIMUM_WORKER_HEAP_MB = 64;

/**
 * The worker entry: the built `.js` next to this file, or, when running from TypeScript sources
 * (tests, `tsx`), a bootstrap that registers tsx's loader in the worker and imports the `.ts` entry.
 */
function workerEntry(): URL {
  const self = import.meta.url;
  if (!self.endsWith('.ts')) return new URL('./training-worker.js', self);
  const require = createRequire(self);
  const tsx = pathToFileURL(require.resolve('tsx/esm/api').replace(/index\.cjs$/, 'index.mjs')).href;
  const entry = new URL('./training-worker.ts', self).href;
  const code = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(entry)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}

/**
 * Trains in a worker thread so that the calling thread (an HTTP server, the job queue) is never
 * blocked by onnxruntime runs. Resolves with the result; rejects with the worker's error
 * (a `TunekitError` with the same code, e.g. `TRAINING_CANCELLED`, `TRAINING_NON_FINITE`).
 */
export function trainInWorker(
  request: WorkerTrainingRequest,
  controls: TrainInWorkerControls = {},
): Promise<TrainingResult & { savedTo?: string }> {
  const limitMb = controls.memoryLimitMb;
  return new Promise((resolve, reject) => {
    let settled = false;
    let watchdog: MemoryWatchdog | undefined;
    let worker: Worker | undefined;
    const post = (message: MainToWorkerMessage) => worker?.postMessage(message);
    const finish = (action: () => void) => {
      if (settled) return;
      settled = true;
      watchdog?.stop();
      controls.signal?.removeEventListener('abort', onAbort);
      action();
      void worker?.terminate();
    };
    const onAbort = () => post({ type: 'cancel' });
    const overLimit = (measuredMb: number, source: 'resident memory' | 'JavaScript heap') =>
      jobMemoryLimitError(limitMb as number, measuredMb, source, 'the worker was stopped');
    // Started before the worker, so the worker's own isolate and modules count against the limit.
    if (limitMb !== undefined) {
      watchdog = startMemoryWatchdog({
        limitMb,
        onExceeded: (grownMb) => finish(() => reject(overLimit(grownMb, 'resident memory'))),
      });
    }
    try {
      worker = new Worker(
        workerEntry(),
        limitMb === undefined
          ? {}
          : { resourceLimits: { maxOldGenerationSizeMb: Math.max(limitMb, MINIMUM_WORKER_HEAP_MB) } },
      );
    } catch (error) {
      finish(() => reject(error));
      return;
    }
    controls.signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (message: WorkerToMainMessage) => {
      if (message.type === 'event') controls.events?.emit(message.name, message.payload as never);
      else if (message.type === 'progress') controls.onProgress?.(message.progress, message.metrics);
      else if (message.type === 'result')
        finish(() => resolve({ ...message.result, savedTo: message.savedTo }));
      else finish(() => reject(relayedTunekitError(message.error)));
    });
    worker.on('error', (error) =>
      finish(() =>
        reject(
          watchdog !== undefined && (error as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? overLimit(watchdog.grownMb(), 'JavaScript heap')
            : tunekitError('TRAINING_FAILED', `The training worker crashed: ${error.message}`, undefined, {
                cause: error,
              }),
        ),
      ),
    );
    worker.on('exit', (code) =>
      finish(() =>
        reject(
          tunekitError('TRAINING_FAILED', `The training worker exited with code ${code} before finishing`),
        ),
      ),
    );
    post({ type: 'start', request });
    if (controls.signal?.aborted) onAbort();
  });
}
