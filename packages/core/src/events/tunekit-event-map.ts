/**
 * Every event on the kit's bus, by `noun:verb` name, with its payload type. Core declares the
 * events of its own services; a package declares the events it emits by declaration merging
 * (@tunekit/registry adds `model:*` and `registry:*` with its `RegistryEventMap`):
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
    /**
     * The attempt of the run that reported it (1 for a job's first run): after a worker died and
     * another resumed the job, late progress of the dead run is told apart from the new run's.
     */
    attempt?: number;
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
  /** An evaluation started predicting `total` samples. */
  'evaluation:started': { evaluationId: string; modelId: string; total: number };
  /** Samples predicted so far (about every 1% of the dataset). */
  'evaluation:progress': { evaluationId: string; modelId: string; completed: number; total: number };
  /** An evaluation finished; metric values (null when undefined). */
  'evaluation:completed': { evaluationId: string; modelId: string; metrics: Record<string, number | null> };
  'evaluation:failed': { evaluationId: string; modelId: string; error: string; code?: string };
  /** Two models were compared on the same samples. */
  'evaluation:compared': {
    comparisonId: string;
    modelIds: [string, string];
    verdict: 'a' | 'b' | 'not-significant';
    primaryMetric: string;
  };
  'abtest:created': { testId: string; name: string; variants: string[] };
  /** Weights or settings changed (units move only where the allocation changed hands). */
  'abtest:updated': { testId: string; movedBuckets: number };
  'abtest:paused': { testId: string };
  'abtest:resumed': { testId: string };
  /** A test was stopped; `winner` is the variant name, or null when none won. */
  'abtest:concluded': { testId: string; winner: string | null; reason: string };
  'feedback:recorded': {
    feedbackId: string;
    modelId: string;
    rating?: number;
    corrected: boolean;
    abTestId?: string;
    variant?: string;
  };
  /** Feedback was exported as a dataset version. */
  'feedback:exported': { versionId: string; datasetName: string; as: 'sft' | 'preference'; rows: number };
}

/** Name of an event on the kit's bus. */
export type TunekitEventName = keyof TunekitEventMap;
