// Test-only helpers for the evaluator, A/B and feedback tests (not exported from the package barrel).
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ArtifactInfo, ArtifactStore } from '../artifacts/artifact-store.js';
import type { AuditEntryInput, AuditSink } from '../audit/audit-sink.js';
import { createDatasetService } from '../datasets/create-dataset-service.js';
import type { DatasetService } from '../datasets/dataset-service.js';
import { TunekitError } from '../errors/tunekit-error.js';
import { createEventBus } from '../events/create-event-bus.js';
import type { EventBus } from '../events/event-bus.js';
import type { OperationContext } from '../kit/operation-context.js';
import { createExtensions } from '../plugins/create-extensions.js';
import type { Extensions } from '../plugins/extension-points.js';
import type { Storage } from '../storage/collection.js';
import { createStorage } from '../storage/create-storage.js';

/** An in-memory artifact store for tests. */
export function createMemoryArtifactStore(): ArtifactStore {
  const files = new Map<string, { data: Uint8Array; modifiedAt: string }>();
  const info = (uri: string, data: Uint8Array, modifiedAt: string): ArtifactInfo => ({
    uri,
    size: data.byteLength,
    sha256: createHash('sha256').update(data).digest('hex'),
    modifiedAt,
  });
  const read = (uri: string) => {
    const file = files.get(uri);
    if (file === undefined) throw new TunekitError({ code: 'ARTIFACT_NOT_FOUND', status: 404, message: uri });
    return file.data;
  };
  return {
    async put(uri, data) {
      let bytes: Uint8Array;
      if (typeof data === 'string') bytes = new TextEncoder().encode(data);
      else if (data instanceof Uint8Array) bytes = data;
      else {
        const chunks: Uint8Array[] = [];
        for await (const chunk of data as AsyncIterable<Uint8Array | string>) {
          chunks.push(typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk);
        }
        bytes = Buffer.concat(chunks);
      }
      const modifiedAt = new Date().toISOString();
      files.set(uri, { data: bytes, modifiedAt });
      return info(uri, bytes, modifiedAt);
    },
    get: async (uri) => read(uri),
    stream: (uri) => Readable.from([Buffer.from(read(uri))]),
    exists: async (uri) => files.has(uri),
    async stat(uri) {
      const file = files.get(uri);
      return file === undefined ? undefined : info(uri, file.data, file.modifiedAt);
    },
    list: async (prefix) =>
      [...files.entries()]
        .filter(([uri]) => uri.startsWith(prefix))
        .map(([uri, file]) => info(uri, file.data, file.modifiedAt)),
    delete: async (uri) => files.delete(uri),
    async deletePrefix(prefix) {
      let count = 0;
      for (const uri of [...files.keys()]) {
        if (uri.startsWith(prefix)) {
          files.delete(uri);
          count += 1;
        }
      }
      return count;
    },
  };
}

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
