/**
 * Every event on the kit's bus, by `noun:verb` name, with its payload type.
 *
 * Packages add their own events by declaration merging:
 * ```ts
 * declare module '@tunekit/core' {
 *   interface TunekitEventMap { 'index:rebuilt': { items: number } }
 * }
 * ```
 */
export interface TunekitEventMap {
  'kit:started': { plugins: string[] };
  'kit:closing': Record<string, never>;
  'job:queued': { jobId: string; kind: string; owner?: string };
  'job:started': { jobId: string; kind: string; attempt: number };
  'job:progress': {
    jobId: string;
    kind: string;
    progress: number;
    message?: string;
    metrics?: Record<string, number>;
  };
  'job:retrying': { jobId: string; kind: string; attempt: number; delayMs: number; error: string };
  'job:succeeded': { jobId: string; kind: string; durationMs: number; output?: unknown };
  'job:failed': { jobId: string; kind: string; durationMs: number; error: string; code?: string };
  'job:cancelled': { jobId: string; kind: string };
  /** One optimizer step of a training run (trackers and metrics listen to this). */
  'training:step': {
    jobId?: string;
    runName?: string;
    step: number;
    epoch: number;
    loss: number;
    learningRate: number;
    tokensPerSecond?: number;
    gradientNorm?: number;
  };
  /** Validation metrics of a training run. */
  'training:evaluated': { jobId?: string; step: number; metrics: Record<string, number> };
  /** A training run started (trackers open a run). */
  'training:started': {
    jobId?: string;
    runName?: string;
    experiment?: string;
    params: Record<string, unknown>;
    tags?: Record<string, string>;
  };
  /** A training run ended (trackers close the run). */
  'training:finished': {
    jobId?: string;
    status: 'succeeded' | 'failed' | 'cancelled';
    summary?: Record<string, unknown>;
  };
  'checkpoint:saved': { jobId?: string; step: number; uri: string; validationLoss?: number };
  'checkpoint:deleted': { jobId?: string; step: number; uri: string };
  'warning:raised': { source: string; message: string; details?: Record<string, unknown> };
  /** A dataset version was registered (`reused`: identical content already existed). */
  'dataset:registered': {
    name: string;
    versionId: string;
    kind: string;
    rowFormat: string;
    rowCount: number;
    droppedRowCount: number;
    parentVersionId?: string;
    reused: boolean;
  };
  /** A dataset source was rejected (invalid rows in strict mode, empty file, unknown format). */
  'dataset:rejected': { name: string; code: string; message: string; invalidRows?: number };
  /** A version was split into train/validation(/test) child versions. */
  'dataset:split': {
    versionId: string;
    trainVersionId: string;
    validationVersionId: string;
    testVersionId?: string;
  };
  /** A filtered child version was derived from a version. */
  'dataset:filtered': { versionId: string; childVersionId: string; keptRows: number; removedRows: number };
  /** A dataset (all its versions) or one version was deleted. */
  'dataset:deleted': { name: string; versionIds: string[] };
}

/** Name of an event on the kit's bus. */
export type TunekitEventName = keyof TunekitEventMap;
