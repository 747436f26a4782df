import type { Keyv } from 'keyv';

/** A JSON primitive a backend can compare in its own query language. */
export type StoredPrimitive = string | number | boolean | null;

/**
 * One exact-match condition pushed down to a backend: the record's top-level `field` holds a JSON
 * value of the same type equal to `equals` (a string equals the same code units, a number the same
 * number, `null` only an explicit `null`). A record without the field matches only when `orMissing`
 * is set (the schema fills it with a default equal to `equals`).
 */
export interface BackendCondition {
  /** Top-level field, a plain identifier (`[A-Za-z_][A-Za-z0-9_]*`). */
  field: string;
  equals: StoredPrimitive;
  orMissing: boolean;
}

/**
 * A page query pushed down to a backend. Rows are ordered like the in-memory path: by the type of
 * the sort field's value (booleans, numbers, strings), then the value, missing or `null` last, ties
 * by id; `desc` reverses the whole order; `field: 'id'` orders by key. Strings (values and ids)
 * compare by code point (UTF-8 bytes), which differs from JavaScript's UTF-16 order only between
 * characters from U+E000 up and astral ones: the collection checks the rows it gets back for those.
 */
export interface BackendQuery {
  where: BackendCondition[];
  sort: { field: string; direction: 'asc' | 'desc' };
  /** Only rows strictly after this (sort value, id) in the query's order. */
  after?: { value: StoredPrimitive | undefined; id: string };
  /** Most rows to return. */
  limit: number;
}

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
  /**
   * Atomically stores `value` under `key` only when no value is stored there yet (SQL
   * `INSERT … ON CONFLICT DO NOTHING`, Redis `SET NX`). Returns false when the key was taken. Absent
   * when the store has no atomic primitive; collections then check and write under their in-process
   * lock, which is atomic within one process only.
   */
  insertIfAbsent?(key: string, value: unknown): Promise<boolean>;
  /**
   * Returns, in order, the `[key, value]` pairs of the records under `prefix` that match `query`
   * (keys and values as `scan` yields them). Absent when the backend cannot evaluate queries;
   * collections then filter, sort and page in process.
   */
  select?(prefix: string, query: BackendQuery): Promise<Array<[string, unknown]>>;
  /**
   * Creates (if missing) an index on each of `fields` for the records under `prefix`, usable by
   * `select` and `count` from then on. Absent when the backend has no indexes.
   */
  createIndexes?(prefix: string, fields: readonly string[]): Promise<void>;
  /** Counts the records under `prefix` that match every condition. Absent like `select`. */
  count?(prefix: string, where: BackendCondition[]): Promise<number>;
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
