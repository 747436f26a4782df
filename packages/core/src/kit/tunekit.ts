import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { EventBus } from '../events/event-bus.js';
import type { JobQueue } from '../jobs/job-queue.js';
import type { Logger } from '../logger/logger.js';
import type { Extensions } from '../plugins/extension-points.js';
import type { ServiceKey } from '../plugins/service-key.js';
import type { Storage } from '../storage/collection.js';

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
