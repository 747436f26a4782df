import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type EventBus, relayedTunekitError, tunekitError } from '@tunekit/core';
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
   * {@link MINIMUM_WORKER_HEAP_MB}), and every {@link MEMORY_WATCH_INTERVAL_MS} ms the process's
   * resident memory is compared with what it was when the job started: past the limit the worker is
   * terminated and the job fails with `JOB_MEMORY_LIMIT`. The growth is the whole process's, so
   * other work running in it at the same time counts too. Absent: no limit.
   */
  memoryLimitMb?: number;
}

/** How often the memory watchdog of {@link trainInWorker} samples the process's resident memory. */
export const MEMORY_WATCH_INTERVAL_MS = 250;

/**
 * Smallest JavaScript heap a training worker gets (MiB): below it V8 cannot even load the worker's
 * modules; a smaller job limit is still enforced, by the resident-memory watchdog.
 */
export const MINIMUM_WORKER_HEAP_MB = 64;

const MIB = 1024 * 1024;

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
  const baselineRss = process.memoryUsage.rss();
  const worker = new Worker(
    workerEntry(),
    limitMb === undefined
      ? {}
      : { resourceLimits: { maxOldGenerationSizeMb: Math.max(limitMb, MINIMUM_WORKER_HEAP_MB) } },
  );
  const post = (message: MainToWorkerMessage) => worker.postMessage(message);
  return new Promise((resolve, reject) => {
    let settled = false;
    let watchdog: NodeJS.Timeout | undefined;
    const finish = (action: () => void) => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      controls.signal?.removeEventListener('abort', onAbort);
      action();
      void worker.terminate();
    };
    const onAbort = () => post({ type: 'cancel' });
    controls.signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (message: WorkerToMainMessage) => {
      if (message.type === 'event') controls.events?.emit(message.name, message.payload as never);
      else if (message.type === 'progress') controls.onProgress?.(message.progress, message.metrics);
      else if (message.type === 'result')
        finish(() => resolve({ ...message.result, savedTo: message.savedTo }));
      else finish(() => reject(relayedTunekitError(message.error)));
    });
    const overLimit = (measuredMb: number, source: 'resident memory' | 'JavaScript heap') =>
      tunekitError(
        'JOB_MEMORY_LIMIT',
        `The training job used ${measuredMb.toFixed(1)} MiB (${source}), more than its memory limit of ${limitMb} MiB: the worker was stopped`,
        { limitMb, measuredMb: Math.round(measuredMb * 10) / 10, source },
      );
    if (limitMb !== undefined) {
      watchdog = setInterval(() => {
        const grownMb = (process.memoryUsage.rss() - baselineRss) / MIB;
        if (grownMb > limitMb) finish(() => reject(overLimit(grownMb, 'resident memory')));
      }, MEMORY_WATCH_INTERVAL_MS);
      watchdog.unref();
    }
    worker.on('error', (error) =>
      finish(() =>
        reject(
          limitMb !== undefined && (error as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? overLimit((process.memoryUsage.rss() - baselineRss) / MIB, 'JavaScript heap')
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
