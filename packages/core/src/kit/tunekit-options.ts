import { z } from 'zod';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { S3ArtifactStoreOptionsSchema } from '../artifacts/s3-artifact-store.js';
import type { Logger } from '../logger/logger.js';
import type { TunekitPlugin } from '../plugins/define-plugin.js';
import type { Storage } from '../storage/collection.js';
import { StorageOptionsSchema } from '../storage/storage-options.js';
import type { Tracker } from '../trackers/tracker.js';

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

/** A ready {@link Storage} instance (anything with `collection` and `close`). */
export const StorageInstanceSchema = z.custom<Storage>(
  (value) => isObject(value) && typeof value.collection === 'function' && typeof value.close === 'function',
  'must be a Storage instance (with collection() and close())',
);

/** A ready {@link ArtifactStore} instance. */
export const ArtifactStoreInstanceSchema = z.custom<ArtifactStore>(
  (value) =>
    isObject(value) &&
    ['put', 'get', 'stream', 'exists', 'stat', 'list', 'delete', 'deletePrefix'].every(
      (method) => typeof value[method] === 'function',
    ),
  'must be an ArtifactStore instance (with put/get/stream/exists/stat/list/delete/deletePrefix)',
);

/** A plugin made with `definePlugin`. */
export const PluginSchema = z.custom<TunekitPlugin>(
  (value) =>
    isObject(value) &&
    typeof value.name === 'string' &&
    value.name.length > 0 &&
    typeof value.setup === 'function',
  'must be a plugin with a non-empty name and a setup function (see definePlugin)',
);

/** A pino-compatible logger. */
export const LoggerSchema = z.custom<Logger>(
  (value) =>
    isObject(value) &&
    ['trace', 'debug', 'info', 'warn', 'error'].every((method) => typeof value[method] === 'function'),
  'must be a pino-compatible logger (trace/debug/info/warn/error methods)',
);

/** An experiment tracker instance. */
export const TrackerInstanceSchema = z.custom<Tracker>(
  (value) => isObject(value) && typeof value.kind === 'string' && typeof value.startRun === 'function',
  'must be a Tracker (with a kind and startRun())',
);

/** Options of the kit's job queue. */
export const JobsOptionsSchema = z
  .object({
    /** Most jobs running at once across all kinds (default 2). */
    concurrency: z.number().int().positive().optional(),
    /**
     * Whether running jobs whose lease lapsed (their process crashed, stalled or closed) are
     * recovered, at start and then periodically: failed with `JOB_INTERRUPTED`, or re-queued when
     * their kind was registered with `requeueOnRecovery` (default true). Jobs that another live
     * process holds are left alone, so several kits can share one storage with this on.
     */
    recover: z.boolean().optional(),
    /** Minimum milliseconds between two progress writes of one job (default 1000). */
    progressPersistIntervalMs: z.number().int().min(0).optional(),
    /**
     * How long a process holds a job it runs without renewing the lease (default 30000); renewed
     * every third of it. A crashed process's jobs are recovered one to two leases later (at once by a
     * kit starting on the same Linux machine). Use one value for every process of a storage.
     */
    leaseMs: z.number().int().positive().optional(),
    /**
     * How often the kit looks for jobs that other processes queued (default 1000 ms; one key read
     * per poll). Jobs submitted through this kit start at once.
     */
    pollIntervalMs: z.number().int().positive().optional(),
    /**
     * What runs jobs: `in-process` (default: this process, records and leases in the kit's storage),
     * `bullmq` (BullMQ on Redis) or `pg-boss` (pg-boss on PostgreSQL), which deliver jobs to any
     * process of the deployment (`tunekit worker`). Job records stay in the kit's storage either way.
     */
    engine: z.enum(['in-process', 'bullmq', 'pg-boss']).optional(),
    /**
     * The engine's connection URL (`redis://…` for BullMQ, `postgres://…` for pg-boss). Default: the
     * storage's URL when the storage is Redis or PostgreSQL of the same kind.
     */
    url: z
      .string()
      .regex(/^(rediss?|postgres(ql)?):\/\//, 'must be a redis:// or postgres:// URL')
      .optional(),
    /**
     * Whether this kit runs jobs (default true). With an engine, `false` makes a kit that only submits,
     * follows and cancels jobs, such as an API in front of `tunekit worker` processes.
     */
    work: z.boolean().optional(),
    /** With an engine: only these job kinds run in this kit (default: every registered kind). */
    kinds: z.array(z.string().min(1)).min(1).optional(),
    /**
     * With an engine: how long `kit.close()` lets an aborted job stop at its next step (a training
     * checkpoints it) before handing the job back to the queue (default 30000).
     */
    shutdownGraceMs: z.number().int().positive().optional(),
    /** With an engine: the prefix of its queues (BullMQ keys, default `tunekit`) or its schema (pg-boss, default `tunekit_jobs`). */
    prefix: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain identifier')
      .optional(),
  })
  .strict();

/**
 * Options of `createTunekit`, validated at the boundary (bad options throw `VALIDATION_FAILED`
 * naming each field).
 */
export const TunekitOptionsSchema = z
  .object({
    /** Directory for local state: the SQLite file, artifacts and tracker runs. Created when missing. */
    dataDirectory: z.string().min(1).optional(),
    /**
     * A Storage instance, or options for `createStorage` (`{ driver: 'memory' | 'sqlite' | 'redis' |
     * 'postgres', … }`). Default: SQLite file `<dataDirectory>/tunekit.sqlite` when a data directory is
     * given, memory otherwise. A storage instance passed in is closed by `kit.close()` too.
     */
    storage: z.union([StorageInstanceSchema, StorageOptionsSchema]).optional(),
    /**
     * An ArtifactStore instance, `{ directory }` for the filesystem store, or `{ s3: { bucket,
     * endpoint?, prefix?, credentials? … } }` for S3 or an S3-compatible server (shared by every worker
     * of a deployment; needs the optional `@aws-sdk/client-s3` and `@aws-sdk/lib-storage`). Default:
     * `<dataDirectory>/artifacts`, or a temporary directory that `kit.close()` removes.
     */
    artifacts: z
      .union([
        ArtifactStoreInstanceSchema,
        z.object({ directory: z.string().min(1) }).strict(),
        z.object({ s3: S3ArtifactStoreOptionsSchema }).strict(),
      ])
      .optional(),
    /** Plugins, set up in dependency order (registration order otherwise). */
    plugins: z.array(PluginSchema).optional(),
    /** A pino-compatible logger (silent by default). */
    logger: LoggerSchema.optional(),
    /** Job queue options. */
    jobs: JobsOptionsSchema.optional(),
    /** Experiment trackers every training run reports to (local, MLflow, W&B …). */
    trackers: z.array(TrackerInstanceSchema).optional(),
    /** Audit log options. */
    audit: z
      .object({
        /**
         * Key of the keyed audit chain (HMAC-SHA256), at least 32 characters or bytes. Keep it
         * outside the database (configuration, a secret manager; `tunekit` commands read
         * `TUNEKIT_AUDIT_KEY`): with it, an edited, re-chained or truncated log is detected by
         * `kit.audit.verify()`. Every process writing to one storage needs the same key.
         */
        key: z
          .union([z.string().min(32), z.instanceof(Uint8Array).refine((key) => key.byteLength >= 32)])
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** Options of `createTunekit`. */
export type TunekitOptions = z.input<typeof TunekitOptionsSchema>;
