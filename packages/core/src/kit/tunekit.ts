import type { ABTestService } from '../ab-tests/ab-test-service.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { DatasetService } from '../datasets/dataset-service.js';
import type { EvaluationService } from '../evaluators/evaluation-service.js';
import type { EventBus } from '../events/event-bus.js';
import type { FeedbackService } from '../feedback/feedback-service.js';
import type { JobQueue } from '../jobs/job-queue.js';
import type { Logger } from '../logger/logger.js';
import type { TunekitMetrics } from '../metrics/tunekit-metrics.js';
import type { Extensions } from '../plugins/extension-points.js';
import type { ServiceKey } from '../plugins/service-key.js';
import type { AccessPolicy } from '../policy/access-policy.js';
import type { Storage } from '../storage/collection.js';
import type { TrackerHub } from '../trackers/tracker-hub.js';

/**
 * The kit: one instance of Tunekit with its services and plugins. Created by `createTunekit`.
 *
 * Built-in lifecycle services (datasets, trackers, audit, policy, metrics, evaluators, abTests,
 * feedback) are added as fields here by the modules that implement them.
 */
export interface Tunekit {
  readonly events: EventBus;
  readonly storage: Storage;
  readonly artifacts: ArtifactStore;
  readonly jobs: JobQueue;
  readonly logger: Logger;
  readonly extensions: Extensions;
  /** Datasets: register, validate, version, analyze, split and filter training data. */
  readonly datasets: DatasetService;
  /** Evaluator registry, evaluation runs with bootstrap intervals, paired model comparisons. */
  readonly evaluators: EvaluationService;
  /** Deterministic A/B traffic splitting between model variants, outcomes and results. */
  readonly abTests: ABTestService;
  /** User feedback (ratings, corrections), its statistics and its export as training data. */
  readonly feedback: FeedbackService;
  /** Append-only, hash-chained audit log; every service records its mutating operations here. */
  readonly audit: AuditLog;
  /** Access checks (roles admin/user/viewer, ownership rules) for adapters to enforce. */
  readonly policy: AccessPolicy;
  /** The kit's prom-client registry, fed by job and training events (`await kit.metrics.text()`). */
  readonly metrics: TunekitMetrics;
  /** Experiment trackers (local, MLflow, W&B, plugins'), fed by training and job events. */
  readonly trackers: TrackerHub;
  /** Directory for local state (SQLite file, artifacts, tracker runs), when one was given. */
  readonly dataDirectory?: string;
  /** A service provided by a plugin; throws `SERVICE_MISSING` when none provides it. */
  get<T>(key: ServiceKey<T>): T;
  has(key: ServiceKey<unknown>): boolean;
  /** Names of the plugins, in setup order. */
  readonly plugins: readonly string[];
  /** Stops jobs, tears plugins down in reverse order, closes storage. Idempotent. */
  close(): Promise<void>;
}
