// Test-only helpers for the dataset tests (not exported from the package barrel).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { EventEmitter } from 'eventemitter3';
import type { z } from 'zod';
import type { ArtifactInfo, ArtifactStore } from '../artifacts/artifact-store.js';
import type { AuditEntryInput, AuditSink } from '../audit/audit-sink.js';
import { TunekitError } from '../errors/tunekit-error.js';
import type { EventBus, EventEnvelope } from '../events/event-bus.js';
import type { TunekitEventMap, TunekitEventName } from '../events/tunekit-event-map.js';
import type { OperationContext } from '../kit/operation-context.js';
import type { Collection, CollectionQuery, Storage, StoredRecord } from '../storage/collection.js';

/**
 * A minimal in-memory Storage for the dataset tests (exact-match filters, sort, cursor pages, CAS
 * update), until the kit's memory driver is importable here.
 */
export function createTestStorage(): Storage {
  const collections = new Map<string, Collection<StoredRecord>>();
  return {
    collection<S extends z.ZodType<StoredRecord>>(name: string, schema: S) {
      const existing = collections.get(name);
      if (existing !== undefined) {
        return existing as unknown as Collection<z.infer<S>>;
      }
      type T = z.infer<S>;
      const records = new Map<string, T>();
      const matches = (record: T, filter: CollectionQuery<T>['filter']) => {
        if (filter === undefined) {
          return true;
        }
        if (typeof filter === 'function') {
          return filter(record);
        }
        return Object.entries(filter).every(
          ([key, value]) => (record as Record<string, unknown>)[key] === value,
        );
      };
      const collection: Collection<T> = {
        name,
        schema: schema as unknown as z.ZodType<T>,
        get: async (id) => (records.has(id) ? structuredClone(records.get(id)) : undefined),
        async require(id) {
          const record = records.get(id);
          if (record === undefined) {
            throw new TunekitError({ code: 'NOT_FOUND', status: 404, message: `${name}/${id} not found` });
          }
          return structuredClone(record);
        },
        async set(record) {
          const parsed = schema.parse(record) as T;
          records.set(parsed.id, structuredClone(parsed));
          return parsed;
        },
        delete: async (id) => records.delete(id),
        async list(query = {}) {
          let items = [...records.values()].filter((record) => matches(record, query.filter));
          if (query.sort !== undefined) {
            const { field, direction } = query.sort;
            const sign = direction === 'desc' ? -1 : 1;
            items.sort((a, b) => {
              const left = a[field] as unknown as string;
              const right = b[field] as unknown as string;
              return left < right ? -sign : left > right ? sign : 0;
            });
          }
          const offset = query.cursor === undefined ? 0 : Number(query.cursor);
          const limit = query.limit ?? 50;
          const page = items.slice(offset, offset + limit);
          items = [];
          return {
            items: page.map((item) => structuredClone(item)),
            nextCursor:
              offset + limit < records.size && page.length === limit ? String(offset + limit) : undefined,
          };
        },
        count: async (filter) => [...records.values()].filter((record) => matches(record, filter)).length,
        async update(id, updater) {
          const current = await collection.require(id);
          const next = await updater(current);
          return collection.set({ ...next, version: (current.version ?? 0) + 1 });
        },
      };
      collections.set(name, collection as unknown as Collection<StoredRecord>);
      return collection;
    },
    close: async () => {},
  };
}

/** A filesystem ArtifactStore under a temporary directory, for the dataset tests. */
export async function createTestArtifactStore(): Promise<
  ArtifactStore & { root: string; dispose(): Promise<void> }
> {
  const root = await mkdtemp(join(tmpdir(), 'tunekit-dataset-artifacts-'));
  const pathOf = (uri: string) => join(root, uri.replace(/^artifact:\/\//, ''));
  const info = async (uri: string): Promise<ArtifactInfo | undefined> => {
    try {
      const stats = await stat(pathOf(uri));
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(pathOf(uri))) {
        hash.update(chunk as Buffer);
      }
      const sha256 = hash.digest('hex');
      return { uri, size: stats.size, sha256, modifiedAt: stats.mtime.toISOString() };
    } catch {
      return undefined;
    }
  };
  const store: ArtifactStore & { root: string; dispose(): Promise<void> } = {
    root,
    async put(uri, data) {
      await mkdir(dirname(pathOf(uri)), { recursive: true });
      if (typeof data === 'string' || data instanceof Uint8Array) {
        await writeFile(pathOf(uri), data);
      } else {
        await writeFile(pathOf(uri), data as Readable);
      }
      return (await info(uri)) as ArtifactInfo;
    },
    get: async (uri) => new Uint8Array(await readFile(pathOf(uri))),
    stream: (uri) => createReadStream(pathOf(uri)),
    exists: async (uri) => (await info(uri)) !== undefined,
    stat: info,
    async list(prefix) {
      const result: ArtifactInfo[] = [];
      const walk = async (directory: string, relative: string): Promise<void> => {
        for (const entry of await readdir(directory, { withFileTypes: true }).catch(() => [])) {
          const child = relative === '' ? entry.name : `${relative}/${entry.name}`;
          if (entry.isDirectory()) {
            await walk(join(directory, entry.name), child);
          } else if (`artifact://${child}`.startsWith(prefix)) {
            result.push((await info(`artifact://${child}`)) as ArtifactInfo);
          }
        }
      };
      await walk(root, '');
      return result;
    },
    async delete(uri) {
      try {
        await unlink(pathOf(uri));
        return true;
      } catch {
        return false;
      }
    },
    async deletePrefix(prefix) {
      const items = await store.list(prefix);
      for (const item of items) {
        await unlink(pathOf(item.uri));
      }
      return items.length;
    },
    localPath: pathOf,
    dispose: () => rm(root, { recursive: true, force: true }),
  };
  return store;
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

/** A minimal event bus for a test that also records every event in `emitted`. */
export function createTestEvents(): EventBus & { emitted: EventEnvelope[] } {
  const emitter = new EventEmitter();
  const emitted: EventEnvelope[] = [];
  const bus: EventBus & { emitted: EventEnvelope[] } = {
    emitted,
    on(name, listener) {
      emitter.on(name, listener);
      return () => emitter.off(name, listener);
    },
    once(name, listener) {
      emitter.once(name, listener);
      return () => emitter.off(name, listener);
    },
    off: (name, listener) => {
      emitter.off(name, listener);
    },
    emit(name, payload) {
      emitted.push({ name, payload, time: new Date().toISOString() } as EventEnvelope);
      emitter.emit(name, payload);
    },
    onAny: () => () => {},
    iterate: () => {
      throw new Error('not used by the dataset tests');
    },
  };
  return bus;
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
