import { tunekitError } from '../errors/tunekit-error.js';
import type { EventBus } from '../events/event-bus.js';
import type { TunekitEventMap } from '../events/tunekit-event-map.js';
import type { Logger } from '../logger/logger.js';
import type { Extensions } from '../plugins/extension-points.js';
import type {
  MetricPoint,
  Tracker,
  TrackerArtifactSource,
  TrackerFinalStatus,
  TrackerLogEntry,
  TrackerRunStatus,
  TrackerStartRunOptions,
} from './tracker.js';
import { messageOf, type TrackerOperation, TrackerWorker } from './tracker-worker.js';

/** Retry policy of the hub's background delivery. */
export interface TrackerRetryOptions {
  /** First delay after a failure (default 500 ms), doubled after each further failure. */
  initialDelayMs?: number;
  /** Upper bound of the delay (default 60000 ms). */
  maxDelayMs?: number;
  /** Attempts per operation before it is dropped (default 12). Non-retryable errors drop at once. */
  maxAttempts?: number;
}

/** Options of {@link createTrackerHub}. */
export interface TrackerHubOptions {
  /** The bus to listen to (`training:*`, `checkpoint:saved`, `job:*`) and to raise warnings on. */
  events?: EventBus;
  /** When given, trackers live at the `tracker` extension point (so plugins can register them). */
  extensions?: Extensions;
  logger?: Logger;
  /** Trackers to add at once, by name. */
  trackers?: Record<string, Tracker>;
  /** Experiment of runs whose event names none (default `tunekit`). */
  defaultExperiment?: string;
  /** Buffered metric points per tracker that trigger a flush (default 500). */
  batchSize?: number;
  /** Longest time a metric point waits in the buffer (default 1000 ms). */
  flushIntervalMs?: number;
  /** Most metric points queued per tracker while its server is down; the oldest are dropped beyond (default 100000). */
  maxQueuedMetrics?: number;
  retry?: TrackerRetryOptions;
  /** Job kinds that get a tracked run from `job:started` even without training events. */
  trackJobKinds?: string[];
  /** Deadline of `close()` when none is passed (default 10000 ms). */
  closeTimeoutMs?: number;
}

/** Options of {@link TrackerHub.startRun}. */
export interface TrackedRunOptions extends Partial<TrackerStartRunOptions> {
  /** Key that identifies the run in the hub (a job id); generated when omitted. */
  key?: string;
  /** Params logged right after the start. */
  params?: Record<string, unknown>;
}

/**
 * A run as seen by the code that trains: every method returns at once (nothing is awaited on the
 * network); the hub delivers to each tracker in the background.
 */
export interface TrackedRun {
  readonly key: string;
  logParams(params: Record<string, unknown>): void;
  logMetrics(metrics: MetricPoint[]): void;
  logArtifact(name: string, source: TrackerArtifactSource): void;
  setTags(tags: Record<string, string>): void;
  log(level: TrackerLogEntry['level'], message: string, fields?: Record<string, unknown>): void;
  setStatus(status: TrackerRunStatus): void;
  end(status: TrackerFinalStatus, summary?: Record<string, unknown>): void;
  /** Whether `end` was called. */
  readonly ended: boolean;
}

/** Delivery state of one tracker. */
export interface TrackerDeliveryStats {
  name: string;
  kind: string;
  /** Operations waiting (a metrics batch counts once). */
  queuedOperations: number;
  /** Metric points buffered or queued. */
  queuedMetrics: number;
  deliveredOperations: number;
  failedAttempts: number;
  droppedOperations: number;
  droppedMetrics: number;
  /** Message of the latest failure, cleared by the next success. */
  lastError?: string;
}

/** Result of {@link TrackerHub.flush}. */
export interface TrackerFlushResult {
  /** True when every queue drained before the deadline. */
  complete: boolean;
  /** Operations still queued (over all trackers). */
  pending: number;
}

/**
 * The kit's trackers (`kit.trackers`): several at once, fed by bus events or by {@link startRun}.
 * Delivery is isolated per tracker: a failure raises `warning:raised`, the operation is retried
 * with exponential backoff in the background, metrics are buffered and sent in batches, and
 * nothing the training code calls ever waits on the network.
 */
export interface TrackerHub {
  /** Adds a tracker under a name (`CONFLICT` when taken). Runs started afterwards use it. */
  add(name: string, tracker: Tracker): void;
  /** Removes a tracker; its queued operations are dropped. */
  remove(name: string): boolean;
  list(): Array<{ name: string; kind: string }>;
  /** Opens a run on every tracker (returns at once). */
  startRun(options?: TrackedRunOptions): TrackedRun;
  /** The open run with this key (runs opened from events use the job id as key). */
  run(key: string): TrackedRun | undefined;
  stats(): TrackerDeliveryStats[];
  /**
   * The stored metric points of a training job (every run of it, oldest first), read back from the
   * first tracker that can (`readJobMetrics`: the local tracker's `metrics.jsonl`); empty when
   * none can. Lets a process chart runs it did not see: trained before it started, or elsewhere.
   */
  jobMetrics(jobId: string): Promise<Array<Required<MetricPoint>>>;
  /** Sends everything buffered and waits until the queues drain or the deadline passes. */
  flush(options?: { timeoutMs?: number }): Promise<TrackerFlushResult>;
  /** Stops listening, ends open runs as `killed`, flushes within the deadline and closes the trackers. */
  close(options?: { timeoutMs?: number }): Promise<TrackerFlushResult>;
}

/** Creates the tracker hub. With `events`, it tracks training jobs from the bus with no extra code. */
export function createTrackerHub(options: TrackerHubOptions = {}): TrackerHub {
  const batchSize = options.batchSize ?? 500;
  const flushIntervalMs = options.flushIntervalMs ?? 1000;
  const maxQueuedMetrics = options.maxQueuedMetrics ?? 100_000;
  const initialDelayMs = options.retry?.initialDelayMs ?? 500;
  const maxDelayMs = options.retry?.maxDelayMs ?? 60_000;
  const maxAttempts = options.retry?.maxAttempts ?? 12;
  const defaultExperiment = options.defaultExperiment ?? 'tunekit';
  const ownTrackers = new Map<string, Tracker>();
  const workers = new Map<string, TrackerWorker>();
  const runs = new Map<string, HubRun>();
  let closed = false;
  let runCounter = 0;

  const warn = (source: string, message: string, details: Record<string, unknown>) => {
    options.logger?.warn({ source, ...details }, message);
    options.events?.emit('warning:raised', { source, message, details });
  };

  const trackerEntries = (): Array<{ name: string; value: Tracker }> =>
    options.extensions
      ? options.extensions.list('tracker')
      : [...ownTrackers].map(([name, value]) => ({ name, value }));

  const workerFor = (name: string, tracker: Tracker): TrackerWorker => {
    let worker = workers.get(name);
    if (!worker || worker.tracker !== tracker) {
      worker = new TrackerWorker(name, tracker, {
        batchSize,
        flushIntervalMs,
        maxQueuedMetrics,
        initialDelayMs,
        maxDelayMs,
        maxAttempts,
        warn,
      });
      workers.set(name, worker);
    }
    return worker;
  };

  interface HubRun extends TrackedRun {
    ended: boolean;
    workers: TrackerWorker[];
    lastStep: number;
  }

  const startRun = (runOptions: TrackedRunOptions = {}): TrackedRun => {
    runCounter += 1;
    const key = runOptions.key ?? `run-${Date.now().toString(36)}-${runCounter}`;
    const previous = runs.get(key);
    if (previous && !previous.ended)
      previous.end('killed', { reason: 'superseded by a new run with the same key' });
    const runWorkers = closed ? [] : trackerEntries().map(({ name, value }) => workerFor(name, value));
    const send = (operation: TrackerOperation) => {
      if (run.ended) return;
      for (const worker of runWorkers) worker.enqueue(operation);
    };
    const run: HubRun = {
      key,
      ended: false,
      workers: runWorkers,
      lastStep: 0,
      logParams: (params) => send({ type: 'params', runKey: key, params }),
      logMetrics: (metrics) => {
        const now = Date.now();
        const stamped = metrics.map((metric) => ({
          key: metric.key,
          value: metric.value,
          step: metric.step ?? run.lastStep,
          timestamp: metric.timestamp ?? now,
        }));
        for (const metric of stamped) run.lastStep = Math.max(run.lastStep, metric.step);
        send({ type: 'metrics', runKey: key, metrics: stamped });
      },
      logArtifact: (name, source) => send({ type: 'artifact', runKey: key, name, source }),
      setTags: (tags) => send({ type: 'tags', runKey: key, tags }),
      log: (level, message, fields) =>
        send({ type: 'log', runKey: key, entries: [{ level, message, timestamp: Date.now(), fields }] }),
      setStatus: (status) => send({ type: 'status', runKey: key, status }),
      end: (status, summary) => {
        send({ type: 'end', runKey: key, status, summary });
        run.ended = true;
        if (runs.get(key) === run) runs.delete(key);
      },
    };
    runs.set(key, run);
    send({
      type: 'start',
      runKey: key,
      options: {
        experiment: runOptions.experiment ?? defaultExperiment,
        name: runOptions.name,
        tags: runOptions.tags,
      },
    });
    if (runOptions.params && Object.keys(runOptions.params).length > 0) run.logParams(runOptions.params);
    return run;
  };

  const flush = async (flushOptions: { timeoutMs?: number } = {}): Promise<TrackerFlushResult> => {
    const deadline = Date.now() + (flushOptions.timeoutMs ?? 10_000);
    const all = [...workers.values()];
    await Promise.all(all.map((worker) => worker.drain(deadline)));
    const pending = all.reduce((sum, worker) => sum + worker.pendingCount(), 0);
    return { complete: pending === 0, pending };
  };

  const unsubscribe: Array<() => void> = [];
  const events = options.events;
  if (events) {
    const keyOf = (payload: { jobId?: string; runName?: string }) =>
      payload.jobId ?? payload.runName ?? 'default';
    const ensure = (key: string, payload: { jobId?: string; runName?: string; experiment?: string }) =>
      runs.get(key) ??
      startRun({
        key,
        experiment: payload.experiment,
        name: payload.runName ?? payload.jobId,
        tags: payload.jobId ? { 'tunekit.job_id': payload.jobId } : undefined,
      });
    unsubscribe.push(
      events.on('training:started', (payload) => {
        startRun({
          key: keyOf(payload),
          experiment: payload.experiment,
          name: payload.runName ?? payload.jobId,
          tags: { ...payload.tags, ...(payload.jobId ? { 'tunekit.job_id': payload.jobId } : {}) },
          params: payload.params,
        });
      }),
      events.on('training:step', (payload) => {
        const run = ensure(keyOf(payload), payload);
        const metrics: MetricPoint[] = [
          { key: 'loss', value: payload.loss, step: payload.step },
          { key: 'learning_rate', value: payload.learningRate, step: payload.step },
          { key: 'epoch', value: payload.epoch, step: payload.step },
        ];
        if (payload.tokensPerSecond !== undefined) {
          metrics.push({ key: 'tokens_per_second', value: payload.tokensPerSecond, step: payload.step });
        }
        if (payload.gradientNorm !== undefined) {
          metrics.push({ key: 'gradient_norm', value: payload.gradientNorm, step: payload.step });
        }
        run.logMetrics(metrics);
      }),
      events.on('training:evaluated', (payload) => {
        const run = ensure(keyOf(payload), payload);
        run.logMetrics(
          Object.entries(payload.metrics).map(([key, value]) => ({ key, value, step: payload.step })),
        );
      }),
      events.on('checkpoint:saved', (payload) => {
        const run = runs.get(keyOf(payload));
        if (!run) return;
        run.log('info', 'checkpoint saved', {
          step: payload.step,
          uri: payload.uri,
          ...(payload.validationLoss !== undefined ? { validationLoss: payload.validationLoss } : {}),
        });
        run.setTags({ 'tunekit.checkpoint.latest': payload.uri });
      }),
      events.on('training:finished', (payload) => {
        const run = runs.get(keyOf(payload));
        if (!run) return;
        run.end(finalStatusOf(payload.status), payload.summary);
      }),
      events.on('job:started', (payload) => {
        if (!options.trackJobKinds?.includes(payload.kind) || runs.has(payload.jobId)) return;
        startRun({
          key: payload.jobId,
          name: payload.jobId,
          tags: { 'tunekit.job_id': payload.jobId, 'tunekit.job_kind': payload.kind },
        });
      }),
      events.on('job:progress', (payload) => {
        const run = runs.get(payload.jobId);
        if (!run) return;
        run.logMetrics([{ key: 'progress', value: payload.progress }]);
      }),
      events.on('job:retrying', (payload) => {
        runs.get(payload.jobId)?.log('warn', `attempt ${payload.attempt} failed, retrying`, {
          error: payload.error,
          delayMs: payload.delayMs,
        });
      }),
      events.on('job:succeeded', (payload) => {
        runs.get(payload.jobId)?.end('finished', { durationMs: payload.durationMs });
      }),
      events.on('job:failed', (payload) => {
        const run = runs.get(payload.jobId);
        if (!run) return;
        run.log('error', payload.error, { code: payload.code });
        run.end('failed', { durationMs: payload.durationMs, error: payload.error });
      }),
      events.on('job:cancelled', (payload) => {
        runs.get(payload.jobId)?.end('killed');
      }),
    );
  }

  for (const [name, tracker] of Object.entries(options.trackers ?? {})) add(name, tracker);

  function add(name: string, tracker: Tracker): void {
    if (options.extensions) {
      options.extensions.add('tracker', name, tracker);
      return;
    }
    if (ownTrackers.has(name)) {
      throw tunekitError('CONFLICT', `A tracker named "${name}" is already registered`, { name });
    }
    ownTrackers.set(name, tracker);
  }

  return {
    add,
    async jobMetrics(jobId) {
      for (const { name, value } of trackerEntries()) {
        if (value.readJobMetrics === undefined) continue;
        try {
          const points = await value.readJobMetrics(jobId);
          if (points.length > 0) return points;
        } catch (error) {
          options.logger?.warn({ err: error, tracker: name, jobId }, 'Reading stored job metrics failed');
        }
      }
      return [];
    },
    remove(name) {
      const removed = options.extensions
        ? options.extensions.remove('tracker', name)
        : ownTrackers.delete(name);
      workers.get(name)?.stop();
      workers.delete(name);
      return removed;
    },
    list: () => trackerEntries().map(({ name, value }) => ({ name, kind: value.kind })),
    startRun,
    run: (key) => runs.get(key),
    stats: () => [...workers.values()].map((worker) => worker.stats()),
    flush,
    async close(closeOptions = {}) {
      if (closed) return { complete: true, pending: 0 };
      closed = true;
      for (const stop of unsubscribe) stop();
      for (const run of [...runs.values()]) run.end('killed', { reason: 'kit closed' });
      const result = await flush({ timeoutMs: closeOptions.timeoutMs ?? options.closeTimeoutMs ?? 10_000 });
      if (!result.complete) {
        warn('trackers', `closing with ${result.pending} undelivered tracker operations`, {
          pending: result.pending,
        });
      }
      for (const worker of workers.values()) worker.stop();
      await Promise.all(
        trackerEntries().map(async ({ name, value }) => {
          try {
            await value.close?.();
          } catch (error) {
            warn(`tracker:${name}`, `tracker close failed: ${messageOf(error)}`, {});
          }
        }),
      );
      return result;
    },
  };
}

function finalStatusOf(status: TunekitEventMap['training:finished']['status']): TrackerFinalStatus {
  return status === 'succeeded' ? 'finished' : status === 'failed' ? 'failed' : 'killed';
}
