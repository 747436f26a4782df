import { Keyv } from 'keyv';
import type { z } from 'zod';
import { parseOrThrow } from '../errors/validation-error.js';
import type { CollectionOptions, Storage, StoredRecord } from './collection.js';
import { createKeyMutex } from './key-mutex.js';
import { createKeyvCollection } from './keyv-collection.js';
import { createRedisBackend } from './redis-backend.js';
import { createSqlBackend } from './sql-backend.js';
import { createGenericBackend, type StorageBackend } from './storage-backend.js';
import { type StorageOptions, StorageOptionsSchema } from './storage-options.js';

/** Namespace of the keys Tunekit writes into stores it creates itself. */
export const STORAGE_NAMESPACE = 'tunekit';

async function createBackend(options: StorageOptions): Promise<StorageBackend> {
  if ('keyv' in options) {
    return createGenericBackend(options.keyv, 'keyv');
  }
  switch (options.driver) {
    case 'memory': {
      const keyv = new Keyv({ namespace: STORAGE_NAMESPACE, throwOnErrors: true });
      return createGenericBackend(keyv, 'memory', async () => keyv.clear());
    }
    case 'sqlite':
      return createSqlBackend({ dialect: 'sqlite', path: options.path, table: options.table });
    case 'postgres':
      return createSqlBackend({ dialect: 'postgres', uri: options.uri, table: options.table });
    case 'redis':
      return createRedisBackend(options.url, options.connectTimeoutMs);
  }
}

/**
 * Opens the kit's storage: typed collections over one keyv store.
 *
 * Drivers: `memory` (tests), `sqlite` (embedded file, the default when the kit has a data
 * directory), `redis` and `postgres` (several processes share state), or `{ keyv }` for any
 * other keyv adapter. Adapter packages are imported lazily, so only the one you use loads.
 *
 * @example
 * ```ts
 * const storage = await createStorage({ driver: 'sqlite', path: 'data/tunekit.sqlite' });
 * const users = storage.collection('users', UserSchema);
 * const jobs = storage.collection('jobs', JobSchema, { indexes: ['status', 'createdAt'] });
 * await users.set({ id: 'u1', name: 'Ada' });
 * ```
 * @throws `VALIDATION_FAILED` when the options are malformed; `STORAGE_FAILED` when the store
 * cannot be reached.
 */
export async function createStorage(options: StorageOptions): Promise<Storage> {
  const parsed = parseOrThrow(StorageOptionsSchema, options, 'storage options');
  const backend = await createBackend(parsed);
  const mutex = createKeyMutex();
  let closed: Promise<void> | undefined;
  return {
    collection<S extends z.ZodType<StoredRecord>>(
      name: string,
      schema: S,
      options?: CollectionOptions<z.infer<S>>,
    ) {
      return createKeyvCollection<z.infer<S>>({
        backend,
        name,
        schema: schema as unknown as z.ZodType<z.infer<S>>,
        mutex,
        indexes: options?.indexes,
      });
    },
    close() {
      closed ??= backend.close();
      return closed;
    },
  };
}
