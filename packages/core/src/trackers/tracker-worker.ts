import { TunekitError } from '../errors/tunekit-error.js';
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
import type { TrackerDeliveryStats } from './tracker-hub.js';

/** One call to deliver to a tracker, keyed by the hub's run. */
export type TrackerOperation =
  | { type: 'start'; runKey: string; options: TrackerStartRunOptions }
  | { type: 'params'; runKey: string; params: Record<string, unknown> }
  | { type: 'metrics'; runKey: string; metrics: MetricPoint[] }
  | { type: 'artifact'; runKey: string; name: string; source: TrackerArtifactSource }
  | { type: 'tags'; runKey: string; tags: Record<string, string> }
  | { type: 'log'; runKey: string; entries: TrackerLogEntry[] }
  | { type: 'status'; runKey: string; status: TrackerRunStatus }
  | { type: 'end'; runKey: string; status: TrackerFinalStatus; summary?: Record<string, unknown> };

interface QueuedOperation {
  operation: TrackerOperation;
  attempts: number;
}

/** The message of an error, or the value as a string. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isRetryable(error: unknown): boolean {
  if (TunekitError.isInstance(error)) return error.details.retryable !== false;
  return true;
}

/** Batching, bounds and retry settings of a {@link TrackerWorker}, plus where its warnings go. */
export interface WorkerSettings {
  batchSize: number;
  flushIntervalMs: number;
  maxQueuedMetrics: number;
  initialDelayMs: number;
  maxDelayMs: number;
  maxAttempts: number;
  warn(source: string, message: string, details: Record<string, unknown>): void;
}

/** Delivers operations to one tracker, in order, one at a time, with retries. */
export class TrackerWorker {
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

  enqueue(operation: TrackerOperation): void {
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

  private async execute(operation: TrackerOperation): Promise<'delivered' | 'skipped'> {
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
