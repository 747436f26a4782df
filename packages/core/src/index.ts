/**
 * `@tunekit/core`: The kit (`createTunekit`), plugins, events, storage, jobs, trackers, datasets,
 * evaluators, A/B tests, feedback, audit, access policy, metrics and the error catalogue.
 *
 * Guides: [getting-started](../../../docs/getting-started.md), [plugins](../../../docs/plugins.md), [storage](../../../docs/storage.md), [datasets](../../../docs/datasets.md), [evaluation](../../../docs/evaluation.md), [ab-testing](../../../docs/ab-testing.md), [feedback](../../../docs/feedback.md), [trackers](../../../docs/trackers.md), [audit-and-policy](../../../docs/audit-and-policy.md), [scale-out](../../../docs/scale-out.md).
 *
 * @module @tunekit/core
 */
export {
  type ABTestAggregateStore,
  type ABTestAggregateStoreOptions,
  type ABTestRebuildReport,
  createABTestAggregateStore,
} from './ab-tests/ab-test-aggregate-store.js';
export {
  type ABTestResults,
  type ABTestResultsOptions,
  type ABVariantResult,
  allocationShares,
  computeABTestResults,
  type SampleRatioCheck,
  SRM_THRESHOLD,
} from './ab-tests/ab-test-results.js';
export type {
  ABAssignment,
  ABTestListQuery,
  ABTestObservation,
  ABTestService,
  CreateABTestInput,
  StopABTestOptions,
  UpdateABTestInput,
} from './ab-tests/ab-test-service.js';
export { type ABTestServiceOptions, createABTestService } from './ab-tests/create-ab-test-service.js';
export { type VariantStatistics, VariantStatisticsSchema } from './ab-tests/variant-statistics.js';
export type { ArtifactInfo, ArtifactStore } from './artifacts/artifact-store.js';
export {
  ARTIFACT_SCHEME,
  parseArtifactUri,
  RESERVED_NAME_PREFIX,
  toArtifactUri,
} from './artifacts/artifact-uri.js';
export {
  createFileArtifactStore,
  type FileArtifactStore,
  type FileArtifactStoreOptions,
} from './artifacts/file-artifact-store.js';
export { createMemoryArtifactStore } from './artifacts/memory-artifact-store.js';
export {
  createS3ArtifactStore,
  type S3ArtifactStoreOptions,
  S3ArtifactStoreOptionsSchema,
} from './artifacts/s3-artifact-store.js';
export {
  AUDIT_EVENTS_COLLECTION,
  AUDIT_GENESIS_HASH,
  AUDIT_HEAD_COLLECTION,
  type AuditLog,
  type AuditLogOptions,
  type AuditPage,
  type AuditQuery,
  AuditQuerySchema,
  type AuditVerification,
  type AuditVerifyOptions,
  canonicalJson,
  createAuditLog,
  hashAuditEvent,
  macAuditEvent,
  type SignedAuditHead,
  SignedAuditHeadSchema,
} from './audit/audit-log.js';
export type { AuditEntryInput, AuditSink } from './audit/audit-sink.js';
export {
  type AuditedOperation,
  type AuditRecorder,
  type AuditRecorderOptions,
  auditErrorDetails,
  createAuditRecorder,
} from './audit/create-audit-recorder.js';
export { assignSplits, SplitIndex, type SplitRatios } from './datasets/assign-splits.js';
export { canonicalRow } from './datasets/canonical-row.js';
export { type ComparedVersion, compareDatasets } from './datasets/compare-datasets.js';
export { computeDatasetStats } from './datasets/compute-dataset-stats.js';
export { createDatasetService, type DatasetServiceOptions } from './datasets/create-dataset-service.js';
export type { DatasetComparison, LabelShare } from './datasets/dataset-comparison.js';
export type {
  DatasetListQuery,
  DatasetRowPredicate,
  DatasetService,
  DatasetSplit,
  DatasetValidationResult,
  FilterDatasetOptions,
  RegisterDatasetInput,
  SplitDatasetOptions,
  ValidateDatasetInput,
} from './datasets/dataset-service.js';
export type { DatasetSource } from './datasets/dataset-source.js';
export type { DatasetStats, DatasetStatsOptions, TokenCounter } from './datasets/dataset-stats.js';
export { detectFileFormat } from './datasets/detect-file-format.js';
export { detectRowFormat } from './datasets/detect-row-format.js';
export { type IngestRowsOptions, type IngestRowsResult, ingestRows } from './datasets/ingest-rows.js';
export type { HistogramBin, LengthSummary } from './datasets/length-summary.js';
export {
  type OpenDatasetSourceOptions,
  type OpenedDatasetSource,
  openDatasetSource,
} from './datasets/open-dataset-source.js';
export type { PopulationStability, StabilityBin } from './datasets/population-stability-index.js';
export type { RawRow, RowIssueCategory } from './datasets/raw-row.js';
export { readCsvRows } from './datasets/read-csv-rows.js';
export { readJsonArrayRows } from './datasets/read-json-array-rows.js';
export { readJsonlRows } from './datasets/read-jsonl-rows.js';
export { readParquetRows } from './datasets/read-parquet-rows.js';
export { rowInput, rowLabel, rowText } from './datasets/row-text.js';
export type { SplitLine } from './datasets/split-lines.js';
export {
  type RowIssue,
  type ValidationReport,
  ValidationReportBuilder,
} from './datasets/validation-report.js';
export { type ErrorCode, ErrorCodes } from './errors/error-codes.js';
export {
  type RelayedError,
  relayedTunekitError,
  TunekitError,
  type TunekitErrorExtras,
  type TunekitErrorOptions,
  tunekitError,
} from './errors/tunekit-error.js';
export {
  parseOrThrow,
  toValidationIssues,
  type ValidationFieldIssue,
  validationFailed,
} from './errors/validation-error.js';
export {
  accuracyEvaluator,
  BUILT_IN_EVALUATORS,
  bleuEvaluator,
  classificationEvaluator,
  confusionMatrixEvaluator,
  exactMatchEvaluator,
  latencyEvaluator,
  perplexityEvaluator,
  rougeLEvaluator,
  throughputEvaluator,
  tokenF1Evaluator,
} from './evaluators/built-in-evaluators.js';
export {
  type ClassificationMetrics,
  type ClassScores,
  classificationMetrics,
} from './evaluators/classification-metrics.js';
export {
  BLEU_MAX_ORDER,
  BLEU_SIGNATURE,
  type BleuScore,
  type BleuSegmentStatistics,
  corpusBleu,
} from './evaluators/corpus-bleu.js';
export {
  createEvaluationService,
  type EvaluationServiceOptions,
} from './evaluators/create-evaluation-service.js';
export type {
  CompareOptions,
  EvaluateOptions,
  EvaluationDataset,
  EvaluationFieldMap,
  EvaluationListQuery,
  EvaluationRunOptions,
  EvaluationService,
} from './evaluators/evaluation-service.js';
export type {
  AggregateContext,
  EvaluationSample,
  Evaluator,
  EvaluatorResult,
  SampleReference,
} from './evaluators/evaluator.js';
export type { Prediction, Predictor, PredictorInput } from './evaluators/predictor.js';
export { type RougeScore, rougeL } from './evaluators/rouge-l.js';
export { exactMatchScore, tokenF1Score } from './evaluators/text-normalization.js';
export { createEventBus, type EventBusOptions } from './events/create-event-bus.js';
export type { EventBus, EventEnvelope, EventListener } from './events/event-bus.js';
export type { TunekitEventMap, TunekitEventName } from './events/tunekit-event-map.js';
export {
  createFeedbackService,
  type FeedbackLimits,
  type FeedbackServiceOptions,
} from './feedback/create-feedback-service.js';
export type {
  ExportFeedbackOptions,
  FeedbackExport,
  FeedbackFilter,
  FeedbackListQuery,
  FeedbackService,
  FeedbackStats,
  FeedbackStatsOptions,
  FeedbackStatsQuery,
  FeedbackStatsRebuild,
  FeedbackSummary,
  RecordFeedbackInput,
} from './feedback/feedback-service.js';
export { type BullmqEngineOptions, createBullmqEngine } from './jobs/bullmq-engine.js';
export {
  createEngineJobQueue,
  DEFAULT_SHUTDOWN_GRACE_MS,
  type EngineJobQueue,
  type EngineJobQueueOptions,
} from './jobs/engine-job-queue.js';
export {
  createInProcessJobQueue,
  DEFAULT_JOB_LEASE_MS,
  DEFAULT_JOB_POLL_INTERVAL_MS,
  type InProcessJobQueue,
  type InProcessJobQueueOptions,
  JOBS_COLLECTION,
} from './jobs/in-process-job-queue.js';
export { CORE_JOB_INPUT_SCHEMAS, type JobInputOf, type JobKinds } from './jobs/job-kinds.js';
export type {
  JobContext,
  JobHandler,
  JobKindOptions,
  JobListQuery,
  JobQueue,
  SubmitOptions,
} from './jobs/job-queue.js';
export { JOB_QUEUE_COLLECTION } from './jobs/job-queue-revision.js';
export { createPgBossEngine, type PgBossEngineOptions } from './jobs/pg-boss-engine.js';
export type {
  DeliveryOutcome,
  EngineEvent,
  EngineJob,
  EngineWorkOptions,
  QueueDelivery,
  QueueEngine,
  RemoteJobProgress,
} from './jobs/queue-engine.js';
export {
  type FinishedJob,
  type JobCompletionStep,
  parseJobInput,
  withJobContracts,
} from './jobs/with-job-contracts.js';
export { createTunekit, DEFAULT_ARTIFACTS_FOLDER, DEFAULT_SQLITE_FILE } from './kit/create-tunekit.js';
export type { OperationContext } from './kit/operation-context.js';
export { PLUGIN_SERVICE_HINTS } from './kit/plugin-service-hints.js';
export type { Tunekit } from './kit/tunekit.js';
export {
  ArtifactStoreInstanceSchema,
  JobsOptionsSchema,
  LoggerSchema,
  PluginSchema,
  StorageInstanceSchema,
  TrackerInstanceSchema,
  type TunekitOptions,
  TunekitOptionsSchema,
} from './kit/tunekit-options.js';
export { createSilentLogger, type Logger } from './logger/logger.js';
export {
  createTunekitMetrics,
  type TunekitMetrics,
  type TunekitMetricsOptions,
} from './metrics/tunekit-metrics.js';
export { createExtensions } from './plugins/create-extensions.js';
export {
  definePlugin,
  type PluginContext,
  type PluginTeardown,
  type TunekitPlugin,
} from './plugins/define-plugin.js';
export type {
  ExtensionPointName,
  ExtensionPoints,
  Extensions,
} from './plugins/extension-points.js';
export { createPluginHost, type PluginHost, type PluginHostOptions } from './plugins/plugin-host.js';
export { createServiceKey, type ServiceKey } from './plugins/service-key.js';
export {
  type AccessPolicy,
  type AccessPolicyOptions,
  createAccessPolicy,
  defaultRoleGrants,
  type PolicyResource,
} from './policy/access-policy.js';
export {
  allPermissions,
  grantCovers,
  type OwnedAction,
  type Permission,
  type PermissionGrant,
  type PermissionRequest,
  PermissionSchema,
} from './policy/permission.js';
export {
  AB_TEST_BUCKETS,
  type ABTest,
  ABTestSchema,
  type ABTestStatus,
  ABTestStatusSchema,
  type ABTestUnit,
  ABTestUnitSchema,
  type ABTestVariant,
  ABTestVariantSchema,
  type BucketRange,
  BucketRangeSchema,
  type SuccessMetric,
  SuccessMetricSchema,
} from './schemas/ab-test.js';
export {
  type AuditEvent,
  AuditEventSchema,
  type AuditOutcome,
  AuditOutcomeSchema,
} from './schemas/audit-event.js';
export {
  type Checkpoint,
  type CheckpointKind,
  CheckpointKindSchema,
  CheckpointSchema,
} from './schemas/checkpoint.js';
export {
  type Dataset,
  type DatasetKind,
  DatasetKindSchema,
  DatasetNameSchema,
  DatasetSchema,
} from './schemas/dataset.js';
export {
  type ChatMessageRow,
  ChatMessageRowSchema,
  type ChatRow,
  ChatRowSchema,
  type ClassificationRow,
  ClassificationRowSchema,
  type DatasetRow,
  type PreferenceRow,
  PreferenceRowSchema,
  type PromptCompletionRow,
  PromptCompletionRowSchema,
  type RowFormat,
  RowFormatSchema,
  RowSchemas,
  type TextRow,
  TextRowSchema,
} from './schemas/dataset-row.js';
export {
  type DatasetFileFormat,
  DatasetFileFormatSchema,
  type DatasetOrigin,
  DatasetOriginSchema,
  type DatasetVersion,
  DatasetVersionSchema,
} from './schemas/dataset-version.js';
export {
  type ComparisonVerdict,
  ComparisonVerdictSchema,
  type Evaluation,
  type EvaluationComparison,
  EvaluationComparisonSchema,
  EvaluationSchema,
  type EvaluationStatus,
  EvaluationStatusSchema,
  type McNemarSummary,
  McNemarSummarySchema,
  type MetricDifference,
  MetricDifferenceSchema,
  type MetricValue,
  MetricValueSchema,
} from './schemas/evaluation.js';
export { type Feedback, FeedbackSchema } from './schemas/feedback.js';
export { type Job, JobSchema, type JobStatus, JobStatusSchema } from './schemas/job.js';
export { type LoraConfig, type LoraConfigInput, LoraConfigSchema } from './schemas/lora-config.js';
export {
  type ModelCard,
  type ModelCardResult,
  ModelCardResultSchema,
  ModelCardSchema,
} from './schemas/model-card.js';
export { ModelNameSchema } from './schemas/model-name.js';
export {
  type ModelTransition,
  type ModelTransitionAction,
  ModelTransitionActionSchema,
  ModelTransitionSchema,
} from './schemas/model-transition.js';
export {
  type BaseModelRelation,
  BaseModelRelationSchema,
  type ModelStage,
  ModelStageSchema,
  ModelTagSchema,
  type ModelVersion,
  ModelVersionSchema,
} from './schemas/model-version.js';
export { type Principal, PrincipalSchema, type Role, RoleSchema } from './schemas/principal.js';
export {
  type QuantizationConfig,
  QuantizationConfigSchema,
  type QuantizationOptions,
} from './schemas/quantization-config.js';
export { ModelAliasSchema, type RegisteredModel, RegisteredModelSchema } from './schemas/registered-model.js';
export {
  type Hyperparameters,
  HyperparametersSchema,
  type RegisterAs,
  RegisterAsSchema,
  type RegisteredOutput,
  RegisteredOutputSchema,
  TRAINING_JOB_KIND,
  type TrainingDataSource,
  TrainingDataSourceSchema,
  type TrainingJob,
  type TrainingJobInput,
  type TrainingJobInputInput,
  TrainingJobInputSchema,
  type TrainingJobOutput,
  TrainingJobOutputSchema,
  TrainingJobSchema,
  trainingOutputUri,
} from './schemas/training-job.js';
export { type TrainingPrecision, TrainingPrecisionSchema } from './schemas/training-precision.js';
export { type User, UserSchema } from './schemas/user.js';
export type {
  Collection,
  CollectionOptions,
  CollectionPage,
  CollectionQuery,
  CollectionSort,
  Storage,
  StoredRecord,
} from './storage/collection.js';
export { createStorage, STORAGE_NAMESPACE } from './storage/create-storage.js';
export { createKeyMutex, type KeyMutex } from './storage/key-mutex.js';
export {
  assertCollectionName,
  createKeyvCollection,
  DEFAULT_PAGE_SIZE,
  type KeyvCollectionOptions,
  MAX_ID_LENGTH,
  MAX_PAGE_SIZE,
} from './storage/keyv-collection.js';
export { createSqlBackend, type SqlBackendOptions } from './storage/sql-backend.js';
export { createGenericBackend, type StorageBackend } from './storage/storage-backend.js';
export {
  KeyvStorageOptionsSchema,
  MemoryStorageOptionsSchema,
  PostgresStorageOptionsSchema,
  RedisStorageOptionsSchema,
  SqliteStorageOptionsSchema,
  type StorageOptions,
  StorageOptionsSchema,
} from './storage/storage-options.js';
export {
  createLocalTracker,
  type LocalMetricSummary,
  type LocalRunComparison,
  type LocalRunConfig,
  type LocalRunInfo,
  type LocalRunSummary,
  type LocalTracker,
  type LocalTrackerOptions,
} from './trackers/local-tracker.js';
export type { MlflowKeyValue, MlflowLogBatchBody, MlflowMetric } from './trackers/mlflow-log-batch.js';
export { createMlflowTracker, type MlflowTrackerOptions } from './trackers/mlflow-tracker.js';
export {
  type MetricPoint,
  MetricPointSchema,
  type Tracker,
  type TrackerArtifactSource,
  type TrackerFinalStatus,
  type TrackerLogEntry,
  type TrackerRun,
  type TrackerRunStatus,
  TrackerRunStatusSchema,
  type TrackerStartRunOptions,
} from './trackers/tracker.js';
export {
  basicAuthorization,
  createTrackerHttpClient,
  type TrackerHttpClient,
  type TrackerHttpClientOptions,
  type TrackerHttpRequest,
  type TrackerHttpResponse,
} from './trackers/tracker-http-client.js';
export {
  createTrackerHub,
  type TrackedRun,
  type TrackedRunOptions,
  type TrackerDeliveryStats,
  type TrackerFlushResult,
  type TrackerHub,
  type TrackerHubOptions,
  type TrackerRetryOptions,
} from './trackers/tracker-hub.js';
export { createWandbTracker, type WandbTrackerOptions } from './trackers/wandb-tracker.js';
