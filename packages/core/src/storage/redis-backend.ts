import { Keyv } from 'keyv';
import { tunekitError } from '../errors/tunekit-error.js';
import type { StorageBackend } from './storage-backend.js';

/** Compare-and-set in one server-side step: replace KEYS[1] with ARGV[2] only if it equals ARGV[1]. */
const compareAndSwapScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0`;

interface RedisClient {
  get(key: string): Promise<string | null>;
  scan(
    cursor: string,
    options: { MATCH: string; COUNT: number },
  ): Promise<{ cursor: string | number; keys: string[] }>;
  mGet(keys: string[]): Promise<Array<string | null>>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  set(key: string, value: string, options: { condition: 'NX' }): Promise<string | null>;
}

/**
 * A backend over `@keyv/redis` (imported lazily). Listing is a `SCAN MATCH <prefix>*` (every key
 * present for the whole scan is returned; duplicates are dropped), compare-and-set is a Lua
 * script, atomic on the server, and insert-if-absent is `SET NX`.
 */
export async function createRedisBackend(url: string, connectTimeoutMs = 5_000): Promise<StorageBackend> {
  const redisModule = await import('@keyv/redis');
  // The class is only a default export; CJS interop may wrap it once more.
  const KeyvRedis = (
    typeof redisModule.default === 'function'
      ? redisModule.default
      : (redisModule.default as unknown as { default: unknown }).default
  ) as typeof redisModule.default;
  const adapter = new KeyvRedis(url, {
    namespace: 'tunekit',
    throwOnConnectError: true,
    connectionTimeout: connectTimeoutMs,
  });
  const keyv = new Keyv({ store: adapter, namespace: 'tunekit', useKeyPrefix: false, throwOnErrors: true });
  let client: RedisClient;
  try {
    client = (await adapter.getClient()) as unknown as RedisClient;
    await client.get('tunekit::__ping__');
  } catch (error) {
    await adapter.disconnect().catch(() => undefined);
    throw tunekitError(
      'STORAGE_FAILED',
      `Cannot connect to Redis at ${url}: ${error instanceof Error ? error.message : String(error)}`,
      undefined,
      { cause: error },
    );
  }
  const storedKey = (key: string) => adapter.createKeyPrefix(key, adapter.namespace);

  return {
    keyv,
    kind: 'redis',
    async *scan(prefix) {
      const start = storedKey(prefix);
      const pattern = `${start.replace(/[*?[\]\\]/g, '\\$&')}*`;
      const seen = new Set<string>();
      let cursor = '0';
      do {
        const result = await client.scan(cursor, { MATCH: pattern, COUNT: 500 });
        cursor = String(result.cursor);
        const keys = result.keys.filter((key) => !seen.has(key));
        if (keys.length === 0) {
          continue;
        }
        for (const key of keys) {
          seen.add(key);
        }
        const values = await client.mGet(keys);
        for (const [position, key] of keys.entries()) {
          const raw = values[position];
          if (raw === null || raw === undefined) {
            continue;
          }
          const data = await keyv.deserializeData<unknown>(raw);
          if (data !== undefined) {
            yield [adapter.getKeyWithoutPrefix(key, adapter.namespace), data.value];
          }
        }
      } while (cursor !== '0');
    },
    async compareAndSwap(key, expected, next) {
      const target = storedKey(key);
      const raw = await client.get(target);
      if (raw === null) {
        return false;
      }
      const current = await keyv.deserializeData<unknown>(raw);
      const { isDeepStrictEqual } = await import('node:util');
      if (!isDeepStrictEqual(current?.value, expected)) {
        return false;
      }
      const serialized = (await keyv.serializeData({ value: next, expires: undefined })) as string;
      const swapped = await client.eval(compareAndSwapScript, {
        keys: [target],
        arguments: [raw, serialized],
      });
      return Number(swapped) === 1;
    },
    async insertIfAbsent(key, value) {
      const serialized = (await keyv.serializeData({ value, expires: undefined })) as string;
      return (await client.set(storedKey(key), serialized, { condition: 'NX' })) === 'OK';
    },
    async close() {
      await adapter.disconnect();
    },
  };
}
