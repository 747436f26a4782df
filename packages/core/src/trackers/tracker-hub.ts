import { TunekitError } from '../errors/tunekit-error.js';
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
  TrackerRun,
  TrackerRunStatus,
  TrackerStartRunOptions,
} from './tracker.js';

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
  /** Sends everything buffered and waits until the queues drain or the deadline passes. */
  flush(options?: { timeoutMs?: number }): Promise<TrackerFlushResult>;
  /** Stops listening, ends open runs as `killed`, flushes within the deadline and closes the trackers. */
  close(options?: { timeoutMs?: number }): Promise<TrackerFlushResult>;
}

type Operation =
  | { type: 'start'; runKey: string; options: TrackerStartRunOptions }
  | { type: 'params'; runKey: string; params: Record<string, unknown> }
  | { type: 'metrics'; runKey: string; metrics: MetricPoint[] }
  | { type: 'artifact'; runKey: string; name: string; source: TrackerArtifactSource }
  | { type: 'tags'; runKey: string; tags: Record<string, string> }
  | { type: 'log'; runKey: string; entries: TrackerLogEntry[] }
  | { type: 'status'; runKey: string; status: TrackerRunStatus }
  | { type: 'end'; runKey: string; status: TrackerFinalStatus; summary?: Record<string, unknown> };

interface QueuedOperation {
  operation: Operation;
  attempts: number;
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
    const send = (operation: Operation) => {
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
      throw new TunekitError({
        code: 'CONFLICT',
        status: 409,
        message: `A tracker named "${name}" is already registered`,
        details: { name },
      });
    }
    ownTrackers.set(name, tracker);
  }

  return {
    add,
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

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isRetryable(error: unknown): boolean {
  if (TunekitError.isInstance(error)) return error.details.retryable !== false;
  return true;
}

interface WorkerSettings {
  batchSize: number;
  flushIntervalMs: number;
  maxQueuedMetrics: number;
  initialDelayMs: number;
  maxDelayMs: number;
  maxAttempts: number;
  warn(source: string, message: string, details: Record<string, unknown>): void;
}

/** Delivers operations to one tracker, in order, one at a time, with retries. */
class TrackerWorker {
  private readonly queue: QueuedOperation[] = [];
  private readonly buffer = new Map<string, MetricPoint[]>();
  private bufferedCount = 0;
  private queuedMetricCount = 0;
  private readonly handles = new Map<string, TrackerRun>();
  private running = false;
  private stopped = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private backoff: { timer: NodeJS.Timeout; wake: () => void } | undefined;
  private idleWaiters: Array<() => void> = [];
  private counters = { delivered: 0, failedAttempts: 0, dropped: 0, droppedMetrics: 0 };
  private lastError: string | undefined;

  constructor(
    readonly name: string,
    readonly tracker: Tracker,
    private readonly settings: WorkerSettings,
  ) {}

  enqueue(operation: Operation): void {
    if (this.stopped) return;
    if (operation.type === 'metrics') {
      const list = this.buffer.get(operation.runKey) ?? [];
      list.push(...operation.metrics);
      this.buffer.set(operation.runKey, list);
      this.bufferedCount += operation.metrics.length;
      if (this.bufferedCount >= this.settings.batchSize) this.moveBuffer();
      else if (!this.flushTimer) {
        this.flushTimer = setTimeout(() => {
          this.flushTimer = undefined;
          this.moveBuffer();
        }, this.settings.flushIntervalMs);
        this.flushTimer.unref();
      }
      return;
    }
    // Metrics buffered before this operation are sent before it (order within a run is kept).
    this.moveBuffer(operation.runKey);
    this.queue.push({ operation, attempts: 0 });
    this.kick();
  }

  pendingCount(): number {
    return this.queue.length + (this.bufferedCount > 0 ? 1 : 0);
  }

  stats(): TrackerDeliveryStats {
    return {
      name: this.name,
      kind: this.tracker.kind,
      queuedOperations: this.queue.length,
      queuedMetrics: this.queuedMetricCount + this.bufferedCount,
      deliveredOperations: this.counters.delivered,
      failedAttempts: this.counters.failedAttempts,
      droppedOperations: this.counters.dropped,
      droppedMetrics: this.counters.droppedMetrics,
      lastError: this.lastError,
    };
  }

  /** Moves buffered metrics (of one run, or all) into the queue and starts delivery. */
  moveBuffer(runKey?: string): void {
    const keys = runKey === undefined ? [...this.buffer.keys()] : this.buffer.has(runKey) ? [runKey] : [];
    for (const key of keys) {
      const metrics = this.buffer.get(key) ?? [];
      this.buffer.delete(key);
      this.bufferedCount -= metrics.length;
      if (metrics.length === 0) continue;
      this.queue.push({ operation: { type: 'metrics', runKey: key, metrics }, attempts: 0 });
      this.queuedMetricCount += metrics.length;
    }
    if (this.bufferedCount === 0 && this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    this.enforceMetricBound();
    this.kick();
  }

  /** Waits until everything is delivered (or dropped) or the deadline passes; a pending backoff is cut short. */
  async drain(deadline: number): Promise<void> {
    this.moveBuffer();
    this.backoff?.wake();
    while (!this.stopped && (this.queue.length > 0 || this.running)) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) return;
      await new Promise<void>((resolve) => {
        // Not unref'd: a caller awaiting flush() keeps the process alive until the deadline.
        const timer = setTimeout(resolve, Math.min(remaining, 1000));
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.backoff?.wake();
    this.queue.length = 0;
    this.buffer.clear();
    this.bufferedCount = 0;
    this.queuedMetricCount = 0;
    this.notifyIdle();
  }

  private enforceMetricBound(): void {
    if (this.queuedMetricCount <= this.settings.maxQueuedMetrics) return;
    let dropped = 0;
    // Drop the oldest queued metric batches (never the one being delivered).
    for (
      let index = this.running ? 1 : 0;
      index < this.queue.length && this.queuedMetricCount > this.settings.maxQueuedMetrics;
    ) {
      const entry = this.queue[index];
      if (entry.operation.type === 'metrics') {
        this.queue.splice(index, 1);
        this.queuedMetricCount -= entry.operation.metrics.length;
        dropped += entry.operation.metrics.length;
      } else index += 1;
    }
    if (dropped > 0) {
      this.counters.droppedMetrics += dropped;
      this.settings.warn(
        `tracker:${this.name}`,
        `dropped ${dropped} queued metric points (queue bound reached)`,
        {
          tracker: this.name,
          dropped,
          maxQueuedMetrics: this.settings.maxQueuedMetrics,
        },
      );
    }
  }

  private kick(): void {
    if (this.running || this.stopped || this.queue.length === 0) return;
    this.running = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    try {
      while (!this.stopped && this.queue.length > 0) {
        const entry = this.queue[0];
        this.coalesceMetrics(entry);
        try {
          const outcome = await this.execute(entry.operation);
          this.complete(entry);
          if (outcome === 'skipped') this.counters.dropped += 1;
          else this.counters.delivered += 1;
          this.lastError = undefined;
        } catch (error) {
          if (this.stopped) break;
          entry.attempts += 1;
          this.counters.failedAttempts += 1;
          this.lastError = messageOf(error);
          const retryable = isRetryable(error) && entry.attempts < this.settings.maxAttempts;
          const details = {
            tracker: this.name,
            kind: this.tracker.kind,
            operation: entry.operation.type,
            run: entry.operation.runKey,
            attempt: entry.attempts,
            retryable,
            ...(TunekitError.isInstance(error)
              ? { code: error.code, httpStatus: error.details.httpStatus }
              : {}),
          };
          if (!retryable) {
            this.drop(entry);
            this.settings.warn(
              `tracker:${this.name}`,
              `tracker "${this.name}" dropped ${entry.operation.type}: ${this.lastError}`,
              details,
            );
            continue;
          }
          const delayMs = Math.min(
            this.settings.maxDelayMs,
            this.settings.initialDelayMs * 2 ** (entry.attempts - 1),
          );
          this.settings.warn(
            `tracker:${this.name}`,
            `tracker "${this.name}" failed (${entry.operation.type}), retrying in ${delayMs} ms: ${this.lastError}`,
            { ...details, delayMs },
          );
          await this.sleep(delayMs);
        }
      }
    } finally {
      this.running = false;
      this.notifyIdle();
      if (!this.stopped && this.queue.length > 0) this.kick();
    }
  }

  /** Merges consecutive metric batches of the same run into the head entry (fewer requests after an outage). */
  private coalesceMetrics(entry: QueuedOperation): void {
    if (entry.operation.type !== 'metrics' || entry.attempts > 0) return;
    const operation = entry.operation;
    while (this.queue.length > 1 && operation.metrics.length < this.settings.batchSize * 10) {
      const next = this.queue[1];
      if (next.operation.type !== 'metrics' || next.operation.runKey !== operation.runKey) break;
      operation.metrics = operation.metrics.concat(next.operation.metrics);
      this.queue.splice(1, 1);
    }
  }

  private async execute(operation: Operation): Promise<'delivered' | 'skipped'> {
    if (operation.type === 'start') {
      this.handles.set(operation.runKey, await this.tracker.startRun(operation.options));
      return 'delivered';
    }
    const handle = this.handles.get(operation.runKey);
    if (!handle) {
      // The run's start was dropped (bad credentials, server down too long): nothing to attach to.
      return 'skipped';
    }
    switch (operation.type) {
      case 'params':
        await handle.logParams(operation.params);
        break;
      case 'metrics':
        await handle.logMetrics(operation.metrics);
        break;
      case 'artifact':
        await handle.logArtifact(operation.name, operation.source);
        break;
      case 'tags':
        await handle.setTags(operation.tags);
        break;
      case 'log':
        await handle.log(operation.entries);
        break;
      case 'status':
        await handle.setStatus(operation.status);
        break;
      case 'end':
        await handle.end(operation.status, operation.summary);
        this.handles.delete(operation.runKey);
        break;
    }
    return 'delivered';
  }

  private complete(entry: QueuedOperation): void {
    this.queue.shift();
    if (entry.operation.type === 'metrics') this.queuedMetricCount -= entry.operation.metrics.length;
  }

  private drop(entry: QueuedOperation): void {
    this.complete(entry);
    this.counters.dropped += 1;
    if (entry.operation.type === 'metrics') this.counters.droppedMetrics += entry.operation.metrics.length;
    if (entry.operation.type === 'end') this.handles.delete(entry.operation.runKey);
  }

  private sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.backoff = undefined;
        resolve();
      };
      const timer = setTimeout(wake, delayMs);
      timer.unref();
      this.backoff = { timer, wake };
    });
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const waiter of waiters) waiter();
  }
}
