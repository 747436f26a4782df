import { tunekitError } from '../errors/tunekit-error.js';
import type { EventBus } from '../events/event-bus.js';
import { createBullmqEngine } from '../jobs/bullmq-engine.js';
import { createEngineJobQueue } from '../jobs/engine-job-queue.js';
import { createInProcessJobQueue } from '../jobs/in-process-job-queue.js';
import type { JobQueue } from '../jobs/job-queue.js';
import { createPgBossEngine } from '../jobs/pg-boss-engine.js';
import type { Logger } from '../logger/logger.js';
import type { Storage } from '../storage/collection.js';
import type { TunekitOptions } from './tunekit-options.js';

/** The kit's job queue before its start: the in-process runner or an engine-backed queue. */
export type StartableJobQueue = JobQueue & { start(): Promise<void> };

/** The engine URL: the option, else the storage's URL when it is of the engine's kind. */
function engineUrl(engine: 'bullmq' | 'pg-boss', options: TunekitOptions): string {
  const explicit = options.jobs?.url;
  const storage = options.storage as { driver?: string; url?: string; uri?: string } | undefined;
  const fromStorage =
    engine === 'bullmq'
      ? storage?.driver === 'redis'
        ? storage.url
        : undefined
      : storage?.driver === 'postgres'
        ? storage.uri
        : undefined;
  const url = explicit ?? fromStorage;
  const scheme = engine === 'bullmq' ? /^rediss?:\/\// : /^postgres(ql)?:\/\//;
  if (url === undefined || !scheme.test(url)) {
    throw tunekitError(
      'VALIDATION_FAILED',
      `jobs.engine '${engine}' needs jobs.url (${engine === 'bullmq' ? 'redis://' : 'postgres://'}…), or a storage of that kind`,
      { engine, url },
    );
  }
  return url;
}

/**
 * Builds the job queue that `createTunekit` options choose (`jobs.engine`): the in-process runner
 * (default), or an engine-backed queue on BullMQ or pg-boss whose records live in `storage`.
 */
export function openJobQueue(
  options: TunekitOptions,
  services: { storage: Storage; events: EventBus; logger: Logger },
): StartableJobQueue {
  const jobs = options.jobs ?? {};
  const engineName = jobs.engine ?? 'in-process';
  if (engineName === 'in-process') {
    return createInProcessJobQueue({
      ...services,
      concurrency: jobs.concurrency,
      recover: jobs.recover,
      progressPersistIntervalMs: jobs.progressPersistIntervalMs,
      leaseMs: jobs.leaseMs,
      pollIntervalMs: jobs.pollIntervalMs,
    });
  }
  const url = engineUrl(engineName, options);
  const engine =
    engineName === 'bullmq'
      ? createBullmqEngine({
          url,
          prefix: jobs.prefix,
          lockDurationMs: jobs.leaseMs,
          stalledIntervalMs: jobs.leaseMs,
          logger: services.logger,
        })
      : createPgBossEngine({
          url,
          schema: jobs.prefix,
          leaseMs: jobs.leaseMs,
          pollIntervalMs: jobs.pollIntervalMs,
          logger: services.logger,
        });
  return createEngineJobQueue({
    ...services,
    engine,
    work: jobs.work,
    kinds: jobs.kinds,
    concurrency: jobs.concurrency,
    progressPersistIntervalMs: jobs.progressPersistIntervalMs,
    pollIntervalMs: jobs.pollIntervalMs,
    shutdownGraceMs: jobs.shutdownGraceMs,
  });
}
