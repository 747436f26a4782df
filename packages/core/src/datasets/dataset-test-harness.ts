// Test-only helpers for the dataset tests (not exported from the package barrel).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { createFileArtifactStore } from '../artifacts/file-artifact-store.js';
import type { AuditEntryInput, AuditSink } from '../audit/audit-sink.js';
import { createEventBus } from '../events/create-event-bus.js';
import type { EventBus, EventEnvelope } from '../events/event-bus.js';
import type { TunekitEventMap, TunekitEventName } from '../events/tunekit-event-map.js';
import type { OperationContext } from '../kit/operation-context.js';
import type { Storage } from '../storage/collection.js';
import { createStorage } from '../storage/create-storage.js';

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
