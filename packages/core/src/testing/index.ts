/**
 * `@tunekit/core/testing`: Compliance suites and helpers for third-party storage, artifact-store and
 * queue adapters, throwaway PostgreSQL/Redis/S3 servers, in-memory MLflow and W&B servers for
 * tracker tests, and a large synthetic JSONL dataset
 * generator for memory tests and benchmarks (vitest is an optional peer dependency).
 *
 * Guides: [storage](../../../../docs/storage.md).
 *
 * @module @tunekit/core/testing
 */

export { type MlflowTestRun, MlflowTestServer } from '../trackers/test-servers/mlflow-test-server.js';
export { type WandbTestRun, WandbTestServer } from '../trackers/test-servers/wandb-test-server.js';
export {
  type ArtifactStoreComplianceOptions,
  describeArtifactStoreCompliance,
} from './describe-artifact-store-compliance.js';
export {
  type ComplianceRecord,
  ComplianceRecordSchema,
  describeStorageCompliance,
  type StorageComplianceOptions,
} from './describe-storage-compliance.js';
export { findExecutable } from './find-executable.js';
export { findFreePort } from './find-free-port.js';
export { generateJsonlFile } from './generate-jsonl-file.js';
export {
  findPostgresBinaries,
  POSTGRES_BINARY_DIRECTORIES,
  POSTGRES_SERVER_MISSING_REASON,
  type PostgresTestServer,
  type StartPostgresServerOptions,
  startPostgresServer,
} from './start-postgres-server.js';
export {
  findRedisServer,
  REDIS_SERVER_MISSING_REASON,
  type RedisTestServer,
  startRedisServer,
} from './start-redis-server.js';
export {
  findS3Server,
  S3_SERVER_MISSING_REASON,
  type S3TestServer,
  startS3Server,
} from './start-s3-server.js';
