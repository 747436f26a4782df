import { z } from 'zod';

/** Status of a tracked run (the MLflow vocabulary, lower-cased). */
export const TrackerRunStatusSchema = z.enum(['scheduled', 'running', 'finished', 'failed', 'killed']);

/** Status of a tracked run. */
export type TrackerRunStatus = z.infer<typeof TrackerRunStatusSchema>;

/** A status that ends a run. */
export type TrackerFinalStatus = Extract<TrackerRunStatus, 'finished' | 'failed' | 'killed'>;

/** One metric value at a step. */
export const MetricPointSchema = z.object({
  key: z.string().min(1),
  value: z.number(),
  /** Optimizer step (integer); 0 when the metric has no step. */
  step: z.number().int().min(0).default(0),
  /** Epoch milliseconds; the time of logging when omitted. */
  timestamp: z.number().int().optional(),
});

/** One metric value at a step. */
export type MetricPoint = z.input<typeof MetricPointSchema>;

/** What a run is started with. */
export interface TrackerStartRunOptions {
  /** Experiment (MLflow experiment, W&B project when none is configured, local folder label). */
  experiment: string;
  /** Display name of the run. */
  name?: string;
  tags?: Record<string, string>;
}

/** One line of a run's log. */
export interface TrackerLogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  /** Epoch milliseconds. */
  timestamp: number;
  fields?: Record<string, unknown>;
}

/**
 * Bytes to store as an artifact, or the path of a local file to copy or upload.
 */
export type TrackerArtifactSource = Uint8Array | { path: string };

/**
 * One open run in a tracker backend. Every method may throw (network down, bad credentials):
 * the {@link TrackerHub} calls them in the background, retries and never lets a failure reach
 * the training code. Implementations throw `TunekitError` with code `TRACKER_REQUEST_FAILED`
 * and `details.retryable` to say whether retrying can help.
 */
export interface TrackerRun {
  /** Backend id of the run (MLflow run id, W&B run name, local folder name). */
  readonly id: string;
  /** Logs hyper-parameters (values that are not strings are JSON-encoded by backends that need strings). */
  logParams(params: Record<string, unknown>): Promise<void>;
  /** Logs a batch of metric points (the backend splits it within its request limits). */
  logMetrics(metrics: MetricPoint[]): Promise<void>;
  /** Stores a file under `name` (a relative path such as `adapter/adapter_config.json`). */
  logArtifact(name: string, source: TrackerArtifactSource): Promise<void>;
  /** Sets or overwrites tags. */
  setTags(tags: Record<string, string>): Promise<void>;
  /** Appends log lines (trackers without a log store may ignore them). */
  log(entries: TrackerLogEntry[]): Promise<void>;
  /** Changes the status without ending the run. */
  setStatus(status: TrackerRunStatus): Promise<void>;
  /** Ends the run with a final status and an optional summary (final values, durations …). */
  end(status: TrackerFinalStatus, summary?: Record<string, unknown>): Promise<void>;
}

/**
 * An experiment-tracking backend (local folders, MLflow, Weights & Biases, or a plugin's own).
 * Register one with `kit.trackers.add(name, tracker)` or, from a plugin,
 * `ctx.extensions.add('tracker', name, tracker)`.
 */
export interface Tracker {
  /** Kind of backend, e.g. `local`, `mlflow`, `wandb`. */
  readonly kind: string;
  /** Opens a run. */
  startRun(options: TrackerStartRunOptions): Promise<TrackerRun>;
  /** Releases timers and connections (called by the hub on close). */
  close?(): Promise<void>;
  /**
   * Reads back the stored metric points of a training job's runs (tagged `tunekit.job_id`), oldest
   * run first, for trackers that keep them where this process can read (the local tracker's
   * `metrics.jsonl`). Optional: remote trackers may leave it out.
   */
  readJobMetrics?(jobId: string): Promise<Array<Required<MetricPoint>>>;
}

/** The MLflow-style upper-case name of a status (`FINISHED`, `KILLED` …). */
export function toUpperStatus(
  status: TrackerRunStatus,
): 'SCHEDULED' | 'RUNNING' | 'FINISHED' | 'FAILED' | 'KILLED' {
  return status.toUpperCase() as 'SCHEDULED' | 'RUNNING' | 'FINISHED' | 'FAILED' | 'KILLED';
}
