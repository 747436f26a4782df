import { cpus, freemem, totalmem } from 'node:os';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { EventBus } from '../events/event-bus.js';

/** Options of {@link createTunekitMetrics}. */
export interface TunekitMetricsOptions {
  /** The bus whose `job:*` and `training:*` events feed the metrics. */
  events?: EventBus;
  /** A registry to register into (a new one per kit by default; never prom-client's global one). */
  registry?: Registry;
  /** Also collect prom-client's default Node.js process metrics (default false). */
  defaultMetrics?: boolean;
  /** Buckets of `task_duration_seconds` in seconds. */
  durationBuckets?: number[];
  /** Finished training jobs whose gauges are kept (older ones are removed; default 20). */
  retainFinishedTrainingJobs?: number;
  /** Labels added to every series (e.g. `{ instance: 'worker-1' }`). */
  defaultLabels?: Record<string, string>;
}

/** The kit's Prometheus metrics (`kit.metrics`). */
export interface TunekitMetrics {
  /** The kit's own prom-client registry (register your own metrics here). */
  readonly registry: Registry;
  /** The exposition text for a `/metrics` endpoint (system gauges are sampled now). */
  text(): Promise<string>;
  /** Content type of {@link text} (`text/plain; version=0.0.4; charset=utf-8`). */
  readonly contentType: string;
  /** Stops listening to events and clears the registry. */
  close(): void;
}

const defaultDurationBuckets = [0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 1800, 3600, 7200, 21600];

/**
 * Creates the kit's metrics, with the seed systems' names so existing Grafana dashboards keep
 * working: `task_success_total`, `task_failure_total`, `task_queue_length`,
 * `task_duration_seconds` (histogram), `system_cpu_percent`, `system_memory_usage_gigabytes`,
 * plus `task_cancelled_total`, `task_retry_total` and per-job training gauges
 * (`training_loss`, `training_tokens_per_second`, `training_learning_rate`, `training_step`,
 * `training_evaluation_metric`).
 */
export function createTunekitMetrics(options: TunekitMetricsOptions = {}): TunekitMetrics {
  const registry = options.registry ?? new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  const registers = [registry];
  const success = new Counter({
    name: 'task_success_total',
    help: 'Jobs that succeeded, by kind.',
    labelNames: ['kind'],
    registers,
  });
  const failure = new Counter({
    name: 'task_failure_total',
    help: 'Jobs that failed after their last attempt, by kind.',
    labelNames: ['kind'],
    registers,
  });
  const cancelled = new Counter({
    name: 'task_cancelled_total',
    help: 'Jobs that were cancelled, by kind.',
    labelNames: ['kind'],
    registers,
  });
  const retries = new Counter({
    name: 'task_retry_total',
    help: 'Job attempts that failed and were retried, by kind.',
    labelNames: ['kind'],
    registers,
  });
  const queued = new Set<string>();
  new Gauge({
    name: 'task_queue_length',
    help: 'Jobs waiting in the queue (queued or waiting for a retry) in this process.',
    registers,
    collect() {
      this.set(queued.size);
    },
  });
  const duration = new Histogram({
    name: 'task_duration_seconds',
    help: 'Run time of finished jobs in seconds, by kind and outcome.',
    labelNames: ['kind', 'outcome'],
    buckets: options.durationBuckets ?? defaultDurationBuckets,
    registers,
  });
  let previousCpu = cpuTimes();
  new Gauge({
    name: 'system_cpu_percent',
    help: 'Machine CPU use in percent (all cores) since the previous scrape.',
    registers,
    collect() {
      const current = cpuTimes();
      const total = current.total - previousCpu.total;
      const idle = current.idle - previousCpu.idle;
      previousCpu = current;
      this.set(total > 0 ? Math.round((1000 * (total - idle)) / total) / 10 : 0);
    },
  });
  new Gauge({
    name: 'system_memory_usage_gigabytes',
    help: 'Machine memory in use (total minus available) in gigabytes (1e9 bytes).',
    registers,
    collect() {
      this.set((totalmem() - freemem()) / 1e9);
    },
  });
  const trainingLoss = new Gauge({
    name: 'training_loss',
    help: 'Latest training loss, by job.',
    labelNames: ['job'],
    registers,
  });
  const tokensPerSecond = new Gauge({
    name: 'training_tokens_per_second',
    help: 'Latest training throughput in tokens per second, by job.',
    labelNames: ['job'],
    registers,
  });
  const learningRate = new Gauge({
    name: 'training_learning_rate',
    help: 'Latest learning rate, by job.',
    labelNames: ['job'],
    registers,
  });
  const trainingStep = new Gauge({
    name: 'training_step',
    help: 'Latest optimizer step, by job.',
    labelNames: ['job'],
    registers,
  });
  const evaluation = new Gauge({
    name: 'training_evaluation_metric',
    help: 'Latest validation metric of a training job, by job and metric name.',
    labelNames: ['job', 'metric'],
    registers,
  });
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });

  const retain = options.retainFinishedTrainingJobs ?? 20;
  const finishedJobs: string[] = [];
  const evaluationNames = new Map<string, Set<string>>();
  const forgetJob = (job: string) => {
    for (const gauge of [trainingLoss, tokensPerSecond, learningRate, trainingStep]) gauge.remove({ job });
    for (const metric of evaluationNames.get(job) ?? []) evaluation.remove({ job, metric });
    evaluationNames.delete(job);
  };

  const unsubscribe: Array<() => void> = [];
  const events = options.events;
  if (events) {
    const jobLabel = (payload: { jobId?: string; runName?: string }) =>
      payload.jobId ?? payload.runName ?? 'unknown';
    unsubscribe.push(
      events.on('job:queued', (payload) => void queued.add(payload.jobId)),
      events.on('job:started', (payload) => void queued.delete(payload.jobId)),
      events.on('job:retrying', (payload) => {
        retries.inc({ kind: payload.kind });
        queued.add(payload.jobId);
      }),
      events.on('job:succeeded', (payload) => {
        queued.delete(payload.jobId);
        success.inc({ kind: payload.kind });
        duration.observe({ kind: payload.kind, outcome: 'success' }, payload.durationMs / 1000);
      }),
      events.on('job:failed', (payload) => {
        queued.delete(payload.jobId);
        failure.inc({ kind: payload.kind });
        duration.observe({ kind: payload.kind, outcome: 'failure' }, payload.durationMs / 1000);
      }),
      events.on('job:cancelled', (payload) => {
        queued.delete(payload.jobId);
        cancelled.inc({ kind: payload.kind });
      }),
      events.on('training:step', (payload) => {
        const job = jobLabel(payload);
        trainingLoss.set({ job }, payload.loss);
        learningRate.set({ job }, payload.learningRate);
        trainingStep.set({ job }, payload.step);
        if (payload.tokensPerSecond !== undefined) tokensPerSecond.set({ job }, payload.tokensPerSecond);
      }),
      events.on('training:evaluated', (payload) => {
        const job = jobLabel(payload);
        const names = evaluationNames.get(job) ?? new Set<string>();
        evaluationNames.set(job, names);
        for (const [metric, value] of Object.entries(payload.metrics)) {
          names.add(metric);
          evaluation.set({ job, metric }, value);
        }
      }),
      events.on('training:finished', (payload) => {
        const job = jobLabel(payload);
        finishedJobs.push(job);
        while (finishedJobs.length > retain) forgetJob(finishedJobs.shift()!);
      }),
    );
  }

  return {
    registry,
    contentType: registry.contentType,
    text: () => registry.metrics(),
    close() {
      for (const stop of unsubscribe.splice(0)) stop();
      registry.clear();
    },
  };
}

function cpuTimes(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const cpu of cpus()) {
    idle += cpu.times.idle;
    total += cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.irq + cpu.times.idle;
  }
  return { idle, total };
}
