// @tunekit/core/testing: helpers and compliance suites for third-party adapters (vitest is a peer dependency).
export {
  type ComplianceRecord,
  ComplianceRecordSchema,
  describeStorageCompliance,
  type StorageComplianceOptions,
} from './describe-storage-compliance.js';
export { findExecutable } from './find-executable.js';
export { findFreePort } from './find-free-port.js';
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
