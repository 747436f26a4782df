// Test-only helpers for the dataset tests (not exported from the package barrel).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { createFileArtifactStore } from '../artifacts/file-artifact-store.js';
import type { AuditEntryInput, AuditSink } from '../audit/audit-sink.js';
import { TunekitError } from '../errors/tunekit-error.js';
import { createEventBus } from '../events/create-event-bus.js';
import type { EventBus, EventEnvelope } from '../events/event-bus.js';
import type { TunekitEventMap, TunekitEventName } from '../events/tunekit-event-map.js';
import type { OperationContext } from '../kit/operation-context.js';
import type { Storage } from '../storage/collection.js';
import { createStorage } from '../storage/create-storage.js';
import { createDatasetService } from './create-dataset-service.js';
import type { DatasetService } from './dataset-service.js';

/** The kit's in-memory storage (keyv memory driver). */
export function createTestStorage(): Promise<Storage> {
  return createStorage({ driver: 'memory' });
}

/** The kit's filesystem ArtifactStore under a fresh temporary directory, removed by `dispose()`. */
export async function createTestArtifactStore(): Promise<
  ArtifactStore & { root: string; dispose(): Promise<void> }
> {
  const root = await mkdtemp(join(tmpdir(), 'tunekit-dataset-artifacts-'));
  return Object.assign(createFileArtifactStore({ directory: root }), {
    root,
    dispose: () => rm(root, { recursive: true, force: true }),
  });
}

/** An AuditSink that keeps entries in memory. */
export function createRecordingAudit(): AuditSink & {
  entries: (AuditEntryInput & { context?: OperationContext })[];
} {
  const entries: (AuditEntryInput & { context?: OperationContext })[] = [];
  return {
    entries,
    record: async (entry, context) => {
      entries.push({ ...entry, context });
    },
  };
}

/** The kit's event bus, recording every event in `emitted`. */
export function createTestEvents(): EventBus & { emitted: EventEnvelope[] } {
  const bus = createEventBus();
  const emitted: EventEnvelope[] = [];
  bus.onAny((envelope) => emitted.push(envelope));
  return Object.assign(bus, { emitted });
}

/** Payloads of the recorded events with the given name. */
export function eventsNamed<N extends TunekitEventName>(
  bus: { emitted: EventEnvelope[] },
  name: N,
): TunekitEventMap[N][] {
  return bus.emitted
    .filter((envelope) => envelope.name === name)
    .map((envelope) => envelope.payload as TunekitEventMap[N]);
}

/** A dataset service over fresh test storage, artifacts, events and audit, plus a scratch folder. */
export interface DatasetServiceFixture {
  /** Scratch folder for source files, removed by `dispose()`. */
  directory: string;
  artifacts: Awaited<ReturnType<typeof createTestArtifactStore>>;
  events: ReturnType<typeof createTestEvents>;
  audit: ReturnType<typeof createRecordingAudit>;
  /** The service, with `maxLineBytes` 4096 and `maxReportedIssues` 3. */
  datasets: DatasetService;
  /** Writes `content` to `name` in the scratch folder and returns its path. */
  file(name: string, content: string | Uint8Array): Promise<string>;
  /** Removes the scratch folder and the artifact store. */
  dispose(): Promise<void>;
}

/** Creates a {@link DatasetServiceFixture}. */
export async function createDatasetServiceFixture(): Promise<DatasetServiceFixture> {
  const directory = await mkdtemp(join(tmpdir(), 'tunekit-dataset-test-'));
  const artifacts = await createTestArtifactStore();
  const events = createTestEvents();
  const audit = createRecordingAudit();
  const datasets = createDatasetService({
    storage: await createTestStorage(),
    artifacts,
    events,
    audit,
    maxLineBytes: 4096,
    maxReportedIssues: 3,
  });
  return {
    directory,
    artifacts,
    events,
    audit,
    datasets,
    async file(name, content) {
      const path = join(directory, name);
      await writeFile(path, content);
      return path;
    },
    async dispose() {
      await rm(directory, { recursive: true, force: true });
      await artifacts.dispose();
    },
  };
}

/** The `TunekitError` a promise rejects with (fails when it resolves or rejects with something else). */
export async function rejection(promise: Promise<unknown>): Promise<TunekitError> {
  try {
    await promise;
  } catch (error) {
    if (TunekitError.isInstance(error)) {
      return error;
    }
    throw error;
  }
  throw new Error('expected a rejection');
}

/** Every item of an async iterable. */
export async function collect<T>(rows: AsyncIterable<T>): Promise<T[]> {
  const result: T[] = [];
  for await (const row of rows) {
    result.push(row);
  }
  return result;
}

/** Three labelled review rows. */
export const reviews = [
  { text: 'great product', label: 'positive' },
  { text: 'terrible, broke in a day', label: 'negative' },
  { text: 'works as described', label: 'positive' },
];
