import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createABTestService } from '../ab-tests/create-ab-test-service.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { createFileArtifactStore } from '../artifacts/file-artifact-store.js';
import { createS3ArtifactStore, type S3ArtifactStoreOptions } from '../artifacts/s3-artifact-store.js';
import { createAuditLog } from '../audit/audit-log.js';
import { createDatasetService } from '../datasets/create-dataset-service.js';
import { type TunekitError, tunekitError } from '../errors/tunekit-error.js';
import { parseOrThrow } from '../errors/validation-error.js';
import { createEvaluationService } from '../evaluators/create-evaluation-service.js';
import { createEventBus } from '../events/create-event-bus.js';
import { createFeedbackService } from '../feedback/create-feedback-service.js';
import { withJobContracts } from '../jobs/with-job-contracts.js';
import { createSilentLogger } from '../logger/logger.js';
import { createTunekitMetrics } from '../metrics/tunekit-metrics.js';
import { createExtensions } from '../plugins/create-extensions.js';
import { createPluginHost } from '../plugins/plugin-host.js';
import { createAccessPolicy } from '../policy/access-policy.js';
import type { Storage } from '../storage/collection.js';
import { createStorage } from '../storage/create-storage.js';
import { createLocalTracker } from '../trackers/local-tracker.js';
import type { Tracker } from '../trackers/tracker.js';
import { createTrackerHub } from '../trackers/tracker-hub.js';
import { openJobQueue } from './open-job-queue.js';
import { installPluginServiceHints } from './plugin-service-hints.js';
import type { Tunekit } from './tunekit.js';
import { type TunekitOptions, TunekitOptionsSchema } from './tunekit-options.js';

/** File name of the default SQLite database inside the data directory. */
export const DEFAULT_SQLITE_FILE = 'tunekit.sqlite';

/** Folder of the default artifact store inside the data directory. */
export const DEFAULT_ARTIFACTS_FOLDER = 'artifacts';

type MutableKit = { -readonly [K in keyof Tunekit]: Tunekit[K] };
type Cleanup = () => unknown;

function kitClosed(): TunekitError {
  return tunekitError('KIT_CLOSED', 'The kit has been closed; create a new one with createTunekit()');
}

/**
 * Creates a kit: storage, artifacts, the event bus, the job queue, the built-in services, then the
 * plugins (set up in dependency order). Options are validated first (`VALIDATION_FAILED` names each
 * bad field); a plugin problem rejects with its coded error (`PLUGIN_CYCLE` …) after everything
 * opened so far was closed again.
 *
 * Defaults: with a `dataDirectory`, storage is the SQLite file `<dataDirectory>/tunekit.sqlite` and
 * artifacts live in `<dataDirectory>/artifacts`; without one, storage is in memory and artifacts go
 * to a temporary directory removed by `close()`. The logger is silent unless one is given.
 *
 * @example
 * ```ts
 * const kit = await createTunekit({ dataDirectory: './.tunekit', plugins: [registryPlugin()] });
 * kit.jobs.register('echo', async (input) => input);
 * const job = await kit.jobs.submit('echo', { hello: 'world' });
 * await kit.jobs.wait(job.id);
 * await kit.close();
 * ```
 */
export async function createTunekit(options: TunekitOptions = {}): Promise<Tunekit> {
  const parsed = parseOrThrow(TunekitOptionsSchema, options, 'kit options');
  const logger = parsed.logger ?? createSilentLogger();
  const dataDirectory = parsed.dataDirectory === undefined ? undefined : resolve(parsed.dataDirectory);
  // Undone in reverse order by close(), or when construction fails half-way.
  const cleanups: Cleanup[] = [];
  const runCleanups = async () => {
    while (cleanups.length > 0) {
      const cleanup = cleanups.pop() as Cleanup;
      try {
        await cleanup();
      } catch (error) {
        logger.error({ err: error }, 'Closing a kit resource failed');
      }
    }
  };
  /** Registers `close` to run when the kit closes (reverse order of creation) and returns `service`. */
  const closeOnKitClose = <T>(service: T, close: (service: T) => unknown): T => {
    cleanups.push(() => close(service));
    return service;
  };

  try {
    if (dataDirectory !== undefined) {
      await mkdir(dataDirectory, { recursive: true });
    }
    const events = createEventBus({ logger });
    const storage = closeOnKitClose(await openStorage(parsed.storage, dataDirectory), (opened) =>
      opened.close(),
    );
    const artifacts = await openArtifacts(parsed.artifacts, dataDirectory, cleanups);
    const extensions = createExtensions();
    const jobs = closeOnKitClose(
      withJobContracts(
        openJobQueue(parsed, { storage, events, logger: logger.child?.({ component: 'jobs' }) ?? logger }),
        extensions,
      ),
      (queue) => queue.close(),
    );
    await jobs.start();
    const host = createPluginHost({ plugins: parsed.plugins ?? [], extensions, events, logger });

    let closing: Promise<void> | undefined;
    const kit = {
      events,
      storage: guardStorage(storage, () => closing !== undefined),
      artifacts,
      jobs,
      logger,
      extensions,
      dataDirectory,
      get(key) {
        if (closing !== undefined) {
          throw kitClosed();
        }
        return host.get(key);
      },
      has: (key) => host.has(key),
      get plugins() {
        return [...host.order];
      },
      close() {
        closing ??= (async () => {
          events.emit('kit:closing', {});
          await jobs.close();
          let teardownError: unknown;
          try {
            await host.stop();
          } catch (error) {
            teardownError = error;
          }
          await runCleanups();
          if (teardownError !== undefined) {
            throw teardownError;
          }
        })();
        return closing;
      },
    } as Partial<MutableKit> as MutableKit;
    installPluginServiceHints(kit);

    // Built-in services: add one line per service here (created after storage, artifacts, events and
    // jobs, before plugins; wrap in closeOnKitClose(service, (s) => s.close()) when it must be closed).
    // Example: kit.datasets = createDatasetService({ storage, artifacts, events, jobs, logger });
    kit.audit = createAuditLog({ storage, key: parsed.audit?.key });
    kit.datasets = createDatasetService({
      storage,
      artifacts,
      events,
      logger: logger.child?.({ component: 'datasets' }) ?? logger,
      audit: kit.audit,
    });
    kit.policy = createAccessPolicy();
    kit.evaluators = createEvaluationService({
      storage,
      artifacts,
      events,
      extensions,
      datasets: kit.datasets,
      audit: kit.audit,
    });
    kit.abTests = createABTestService({ storage, events, audit: kit.audit });
    kit.feedback = createFeedbackService({
      storage,
      events,
      datasets: kit.datasets,
      abTests: kit.abTests,
      audit: kit.audit,
    });
    kit.metrics = closeOnKitClose(createTunekitMetrics({ events }), (metrics) => metrics.close());
    kit.trackers = closeOnKitClose(
      createTrackerHub({
        events,
        extensions,
        logger: logger.child?.({ component: 'trackers' }) ?? logger,
        trackers: nameTrackers(parsed.trackers ?? defaultTrackers(dataDirectory)),
      }),
      (hub) => hub.close(),
    );

    try {
      await host.start(kit);
    } catch (error) {
      await jobs.close();
      throw error;
    }
    events.emit('kit:started', { plugins: [...host.order] });
    logger.debug({ plugins: host.order, dataDirectory }, 'Tunekit started');
    return kit;
  } catch (error) {
    await runCleanups();
    throw error;
  }
}

async function openStorage(
  option: TunekitOptions['storage'],
  dataDirectory: string | undefined,
): Promise<Storage> {
  if (option === undefined) {
    return createStorage(
      dataDirectory === undefined
        ? { driver: 'memory' }
        : { driver: 'sqlite', path: join(dataDirectory, DEFAULT_SQLITE_FILE) },
    );
  }
  if ('collection' in option && typeof option.collection === 'function') {
    return option as Storage;
  }
  return createStorage(option as Parameters<typeof createStorage>[0]);
}

async function openArtifacts(
  option: TunekitOptions['artifacts'],
  dataDirectory: string | undefined,
  cleanups: Cleanup[],
): Promise<ArtifactStore> {
  if (option !== undefined && 's3' in option && typeof option.s3 === 'object' && option.s3 !== null) {
    const store = createS3ArtifactStore(option.s3 as S3ArtifactStoreOptions);
    cleanups.push(() => store.close());
    return store;
  }
  if (option !== undefined && !('directory' in option && typeof option.directory === 'string')) {
    return option as ArtifactStore;
  }
  if (option !== undefined && 'directory' in option) {
    return createFileArtifactStore({ directory: resolve(option.directory) });
  }
  if (dataDirectory !== undefined) {
    return createFileArtifactStore({ directory: join(dataDirectory, DEFAULT_ARTIFACTS_FOLDER) });
  }
  const directory = await mkdtemp(join(tmpdir(), 'tunekit-artifacts-'));
  cleanups.push(() => rm(directory, { recursive: true, force: true }));
  return createFileArtifactStore({ directory });
}

/** Storage whose `collection()` throws `KIT_CLOSED` once the kit closes. */
function guardStorage(storage: Storage, isClosed: () => boolean): Storage {
  return {
    collection(name, schema, options) {
      if (isClosed()) {
        throw kitClosed();
      }
      return storage.collection(name, schema, options);
    },
    close: () => storage.close(),
  };
}

/** Folder of the default local tracker's runs inside the data directory. */
export const DEFAULT_TRACKER_RUNS_FOLDER = 'runs';

/** Without a `trackers` option: a local tracker in `<dataDirectory>/runs` when there is a data directory. */
function defaultTrackers(dataDirectory: string | undefined): Tracker[] {
  return dataDirectory === undefined
    ? []
    : [createLocalTracker({ directory: join(dataDirectory, DEFAULT_TRACKER_RUNS_FOLDER) })];
}

/** Names trackers by kind (`mlflow`, then `mlflow-2` for a second one). */
function nameTrackers(trackers: readonly Tracker[]): Record<string, Tracker> {
  const named: Record<string, Tracker> = {};
  for (const tracker of trackers) {
    let name = tracker.kind;
    for (let index = 2; name in named; index += 1) name = `${tracker.kind}-${index}`;
    named[name] = tracker;
  }
  return named;
}
