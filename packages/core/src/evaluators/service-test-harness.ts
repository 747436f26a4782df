// Test-only helpers for the evaluator, A/B and feedback tests (not exported from the package barrel).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { createMemoryArtifactStore } from '../artifacts/memory-artifact-store.js';
import type { AuditEntryInput, AuditSink } from '../audit/audit-sink.js';
import { createDatasetService } from '../datasets/create-dataset-service.js';
import type { DatasetService } from '../datasets/dataset-service.js';
import { createEventBus } from '../events/create-event-bus.js';
import type { EventBus } from '../events/event-bus.js';
import type { OperationContext } from '../kit/operation-context.js';
import { createExtensions } from '../plugins/create-extensions.js';
import type { Extensions } from '../plugins/extension-points.js';
import type { Storage } from '../storage/collection.js';
import { createStorage } from '../storage/create-storage.js';

/** The pieces the services need, on memory or SQLite storage, with recorded audit entries. */
export interface ServiceTestHarness {
  storage: Storage;
  artifacts: ArtifactStore;
  events: EventBus;
  extensions: Extensions;
  datasets: DatasetService;
  audit: AuditSink;
  auditEntries: Array<{ entry: AuditEntryInput; context?: OperationContext }>;
  close(): Promise<void>;
}

/** Storage drivers the service tests run on. */
export const HARNESS_DRIVERS = ['memory', 'sqlite'] as const;

/** Opens a harness on `driver` (SQLite in a temporary directory). */
export async function openServiceHarness(
  driver: (typeof HARNESS_DRIVERS)[number],
): Promise<ServiceTestHarness> {
  let directory: string | undefined;
  let storage: Storage;
  if (driver === 'sqlite') {
    directory = await mkdtemp(join(tmpdir(), 'tunekit-eval-'));
    storage = await createStorage({ driver: 'sqlite', path: join(directory, 'tunekit.sqlite') });
  } else {
    storage = await createStorage({ driver: 'memory' });
  }
  const artifacts = createMemoryArtifactStore();
  const events = createEventBus();
  const auditEntries: ServiceTestHarness['auditEntries'] = [];
  const audit: AuditSink = {
    async record(entry, context) {
      auditEntries.push({ entry, context });
    },
  };
  const datasets = createDatasetService({ storage, artifacts, events, audit });
  return {
    storage,
    artifacts,
    events,
    extensions: createExtensions(),
    datasets,
    audit,
    auditEntries,
    async close() {
      await storage.close();
      if (directory !== undefined) await rm(directory, { recursive: true, force: true });
    },
  };
}
