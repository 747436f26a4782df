import type { Keyv } from 'keyv';

/**
 * What a collection needs from a keyv store, beyond keyv's own get/set/delete. Built by
 * `createStorage` for each driver; third-party stores get the generic version (keyv's iterator,
 * or a per-collection index when the store cannot enumerate).
 */
export interface StorageBackend {
  /** The keyv instance every collection reads and writes through. */
  readonly keyv: Keyv;
  /** Human-readable backend name (`memory`, `sqlite`, `redis`, `postgres`, `keyv`). */
  readonly kind: string;
  /**
   * Yields `[key, value]` for every stored key that starts with `prefix` (keys as given to keyv,
   * values deserialized). Absent when the store cannot enumerate its keys.
   */
  scan?(prefix: string): AsyncIterable<[string, unknown]>;
  /**
   * Atomically replaces the value of `key` with `next` only when the stored value still equals
   * `expected` (as serialized by keyv). Returns false when it moved. Absent when the store has no
   * atomic primitive; collections then re-read and compare just before writing.
   */
  compareAndSwap?(key: string, expected: unknown, next: unknown): Promise<boolean>;
  /** Releases connections. */
  close(): Promise<void>;
}

/**
 * A backend over any keyv instance, using keyv's iterator when the store has one.
 *
 * @param keyv - the keyv instance (the caller keeps ownership of its options).
 * @param kind - the backend name for messages.
 * @param close - how to release it (defaults to `keyv.disconnect()`).
 */
export function createGenericBackend(keyv: Keyv, kind: string, close?: () => Promise<void>): StorageBackend {
  const iterate = keyv.iterator;
  return {
    keyv,
    kind,
    scan:
      typeof iterate === 'function'
        ? async function* scan(prefix: string): AsyncIterable<[string, unknown]> {
            const seen = new Set<string>();
            for await (const entry of (iterate as unknown as () => AsyncIterable<[string, unknown]>).call(
              keyv,
            )) {
              const [key, value] = entry;
              // Some iterators (Redis SCAN) may yield a key twice; some match prefixes loosely.
              if (typeof key !== 'string' || !key.startsWith(prefix) || seen.has(key)) {
                continue;
              }
              seen.add(key);
              yield [key, value];
            }
          }
        : undefined,
    close: close ?? (async () => keyv.disconnect()),
  };
}
