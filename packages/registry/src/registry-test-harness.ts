import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AuditLog,
  createAuditLog,
  createEventBus,
  createFileArtifactStore,
  createStorage,
  type EventBus,
  type FileArtifactStore,
  type ModelStage,
  type Storage,
  TunekitError,
  type TunekitEventMap,
  type TunekitEventName,
} from '@tunekit/core';
import { createModelRegistry, type ModelRegistryOptions } from './create-model-registry.js';
import type { ModelRegistry, RegisterModelInput } from './model-registry.js';

/** Storage drivers the registry tests run against. */
export type HarnessDriver = 'memory' | 'sqlite';

/** A registry over real storage and a real file artifact store in a temporary folder (tests only). */
export interface RegistryHarness {
  driver: HarnessDriver;
  folder: string;
  storage: Storage;
  artifacts: FileArtifactStore;
  events: EventBus;
  audit: AuditLog;
  registry: ModelRegistry;
  /** Events received so far, by name. */
  received: Array<{ name: TunekitEventName; payload: unknown }>;
  /** Another registry over the same storage and artifacts (as a second process would have; SQLite opens its own connection). */
  openSecond(overrides?: Partial<ModelRegistryOptions>): Promise<ModelRegistry>;
  /** Payloads of one event. */
  eventsOf<N extends TunekitEventName>(name: N): Array<TunekitEventMap[N]>;
  close(): Promise<void>;
}

/** Creates a {@link RegistryHarness} (memory storage or an SQLite file). */
export async function createRegistryHarness(
  driver: HarnessDriver,
  overrides: Partial<ModelRegistryOptions> = {},
): Promise<RegistryHarness> {
  const folder = await mkdtemp(join(tmpdir(), 'tunekit-registry-'));
  const databasePath = join(folder, 'tunekit.sqlite');
  const openStorage = () =>
    createStorage(driver === 'memory' ? { driver: 'memory' } : { driver: 'sqlite', path: databasePath });
  const storage = await openStorage();
  const artifacts = createFileArtifactStore({ directory: join(folder, 'artifacts') });
  const events = createEventBus();
  const audit = createAuditLog({ storage });
  const received: RegistryHarness['received'] = [];
  events.onAny((envelope) => received.push({ name: envelope.name, payload: envelope.payload }));
  const extraStorages: Storage[] = [];
  const registry = createModelRegistry({ storage, artifacts, events, audit, ...overrides });
  return {
    driver,
    folder,
    storage,
    artifacts,
    events,
    audit,
    registry,
    received,
    async openSecond(more = {}) {
      // Memory storage cannot be shared across connections: share the instance (its collection lock is
      // shared too, but the registry's per-name lock is not).
      const second = driver === 'memory' ? storage : await openStorage();
      if (second !== storage) extraStorages.push(second);
      return createModelRegistry({ storage: second, artifacts, events, audit, ...overrides, ...more });
    },
    eventsOf<N extends TunekitEventName>(name: N) {
      return received
        .filter((event) => event.name === name)
        .map((event) => event.payload as TunekitEventMap[N]);
    },
    async close() {
      await registry.flush();
      for (const extra of extraStorages) await extra.close();
      await storage.close();
      await rm(folder, { recursive: true, force: true });
    },
  };
}

/** The `TunekitError` an action throws (fails when it throws nothing or something else). */
export async function caught(action: () => unknown): Promise<TunekitError> {
  try {
    await action();
  } catch (error) {
    if (TunekitError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a TunekitError');
}

/** Every model stage. */
export const stages: ModelStage[] = ['draft', 'staging', 'production', 'archived'];

/** A registration input for `name` with test defaults. */
export function modelInput(name: string, extra: Partial<RegisterModelInput> = {}): RegisterModelInput {
  return {
    name,
    artifactUri: `artifact://models/${name}`,
    baseModel: 'gpt2',
    task: 'text-generation',
    ...extra,
  };
}

/** Registers a version and moves it to `stage` by allowed steps. */
export async function versionIn(registry: ModelRegistry, name: string, stage: ModelStage) {
  const version = await registry.register(modelInput(name));
  if (stage === 'draft') return version;
  if (stage === 'archived') return registry.transition(version.id, 'archived');
  await registry.transition(version.id, 'staging');
  if (stage === 'staging') return registry.require(version.id);
  return registry.deploy(version.id);
}
