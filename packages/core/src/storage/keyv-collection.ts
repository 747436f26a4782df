import { isDeepStrictEqual } from 'node:util';
import type { z } from 'zod';
import { type TunekitError, tunekitError } from '../errors/tunekit-error.js';
import { parseOrThrow } from '../errors/validation-error.js';
import type {
  Collection,
  CollectionPage,
  CollectionQuery,
  CollectionSort,
  StoredRecord,
} from './collection.js';
import type { KeyMutex } from './key-mutex.js';
import { createQueryPushdown, isOrderSensitive, isQueryablePrimitive } from './query-pushdown.js';
import type { StorageBackend } from './storage-backend.js';

/** Default page size of `list`. */
export const DEFAULT_PAGE_SIZE = 50;
/** Largest page size `list` accepts. */
export const MAX_PAGE_SIZE = 1000;
/**
 * Longest record id accepted: `tunekit:` + a 50-character collection name + `:` + the id must fit
 * the SQL adapters' `VARCHAR(255)` key column.
 */
export const MAX_ID_LENGTH = 190;

const collectionNamePattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,49}$/;

/** Options of {@link createKeyvCollection}. */
export interface KeyvCollectionOptions<T extends StoredRecord> {
  backend: StorageBackend;
  name: string;
  schema: z.ZodType<T>;
  /** Per-key lock shared by every collection of the storage. */
  mutex: KeyMutex;
  /** Fields to index where the backend has indexes (see `CollectionOptions`). */
  indexes?: readonly string[];
}

interface DecodedCursor {
  field: string;
  direction: 'asc' | 'desc';
  value: unknown;
  id: string;
}

function validationFailed(message: string, details: Record<string, unknown> = {}): TunekitError {
  return tunekitError('VALIDATION_FAILED', message, details);
}

function storageFailed(message: string, cause?: unknown): TunekitError {
  return tunekitError('STORAGE_FAILED', message, undefined, { cause });
}

/** Throws `VALIDATION_FAILED` unless `name` is a usable collection name. */
export function assertCollectionName(name: string): void {
  if (typeof name !== 'string' || !collectionNamePattern.test(name)) {
    throw validationFailed(
      `Invalid collection name ${JSON.stringify(name)}: use 1-50 letters, digits, "_" or "-", starting with a letter or digit`,
      { name },
    );
  }
}

function assertId(id: unknown, collection: string): asserts id is string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH || id.includes('\u0000')) {
    throw validationFailed(
      `Invalid id for collection "${collection}": expected a non-empty string of at most ${MAX_ID_LENGTH} characters`,
      { collection, id },
    );
  }
}

const typeRank: Record<string, number> = { boolean: 0, number: 1, bigint: 1, string: 2, object: 3 };

/** Total order on JSON-like values; `undefined`/`null` sort after everything else. */
function compareValues(left: unknown, right: unknown): number {
  const leftMissing = left === undefined || left === null;
  const rightMissing = right === undefined || right === null;
  if (leftMissing || rightMissing) {
    return leftMissing === rightMissing ? 0 : leftMissing ? 1 : -1;
  }
  const leftRank = typeRank[typeof left] ?? 4;
  const rightRank = typeRank[typeof right] ?? 4;
  if (leftRank !== rightRank) {
    return leftRank - rightRank;
  }
  if (typeof left === 'object') {
    const leftText = JSON.stringify(left);
    const rightText = JSON.stringify(right);
    return leftText < rightText ? -1 : leftText > rightText ? 1 : 0;
  }
  return (left as number) < (right as number) ? -1 : (left as number) > (right as number) ? 1 : 0;
}

function compareKeys(
  leftValue: unknown,
  leftId: string,
  rightValue: unknown,
  rightId: string,
  direction: 'asc' | 'desc',
): number {
  const byValue = compareValues(leftValue, rightValue);
  const order = byValue !== 0 ? byValue : leftId < rightId ? -1 : leftId > rightId ? 1 : 0;
  return direction === 'asc' ? order : -order;
}

function encodeCursor(cursor: DecodedCursor): string {
  const payload = {
    f: cursor.field,
    d: cursor.direction,
    i: cursor.id,
    ...(cursor.value === undefined ? {} : { v: cursor.value }),
  };
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string, collection: string): DecodedCursor {
  try {
    const payload = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (
      typeof payload.f === 'string' &&
      (payload.d === 'asc' || payload.d === 'desc') &&
      typeof payload.i === 'string'
    ) {
      return { field: payload.f, direction: payload.d, id: payload.i, value: payload.v };
    }
  } catch {
    // fall through to the error below
  }
  throw validationFailed(`Invalid cursor for collection "${collection}"`, { collection, cursor });
}

function matchesFilter<T>(record: T, filter: CollectionQuery<T>['filter']): boolean {
  if (filter === undefined) {
    return true;
  }
  if (typeof filter === 'function') {
    return filter(record);
  }
  for (const [field, expected] of Object.entries(filter as Record<string, unknown>)) {
    if (expected === undefined) {
      continue;
    }
    if (!isDeepStrictEqual((record as Record<string, unknown>)[field], expected)) {
      return false;
    }
  }
  return true;
}

/**
 * A {@link Collection} over a keyv store. Records live under the keys `<name>:<id>`; listing
 * enumerates the backend's keys with that prefix (or, for stores that cannot enumerate, a
 * per-collection index kept under `__index__:<name>`). Writes to one key are serialized in-process;
 * `update` is a compare-and-set on the stored value and `create` an insert-if-absent (both atomic
 * on SQLite, PostgreSQL and Redis).
 */
export function createKeyvCollection<T extends StoredRecord>(
  options: KeyvCollectionOptions<T>,
): Collection<T> {
  const { backend, name, schema, mutex, indexes = [] } = options;
  assertCollectionName(name);
  const { keyv } = backend;
  const prefix = `${name}:`;
  const indexKey = `__index__:${name}`;
  const keyOf = (id: string) => `${prefix}${id}`;
  const pushdown =
    backend.select || backend.count || indexes.length > 0 ? createQueryPushdown(schema) : undefined;
  const unindexable = Array.isArray(indexes)
    ? indexes.filter((field) => typeof field !== 'string' || !pushdown?.indexable(field))
    : [String(indexes)];
  if (unindexable.length > 0) {
    throw validationFailed(
      `Cannot index ${unindexable.map((field) => JSON.stringify(field)).join(', ')} of collection "${name}": indexes take top-level string, number, boolean, enum or literal fields of the schema`,
      { collection: name, fields: unindexable },
    );
  }
  // Queries wait for the indexes; one that cannot be made (no privilege, a foreign row that is not
  // JSON) leaves queries as they were, only slower.
  const indexesReady =
    indexes.length > 0 && backend.createIndexes
      ? backend.createIndexes(prefix, [...new Set(indexes)]).catch(() => undefined)
      : undefined;

  const decode = (raw: unknown, id: string): T => {
    const record = parseOrThrow(schema, raw, `stored record "${id}" of collection "${name}"`);
    const rawVersion = (raw as StoredRecord | undefined)?.version;
    // A schema without a `version` field strips it; keep it so compare-and-set keeps working.
    if (record.version === undefined && typeof rawVersion === 'number') {
      return { ...record, version: rawVersion };
    }
    return record;
  };

  const readRaw = async (key: string): Promise<unknown> => {
    try {
      return await keyv.get(key);
    } catch (error) {
      throw storageFailed(`Reading "${key}" from ${backend.kind} storage failed`, error);
    }
  };

  const writeRaw = async (key: string, value: unknown): Promise<void> => {
    let stored: boolean;
    try {
      stored = await keyv.set(key, value);
    } catch (error) {
      throw storageFailed(`Writing "${key}" to ${backend.kind} storage failed`, error);
    }
    if (stored === false) {
      throw storageFailed(`Writing "${key}" to ${backend.kind} storage failed`);
    }
  };

  const readIndex = async (): Promise<string[]> => {
    const ids = await readRaw(indexKey);
    return Array.isArray(ids) ? (ids as string[]) : [];
  };

  const changeIndex = async (id: string, present: boolean): Promise<void> => {
    if (backend.scan) {
      return;
    }
    await mutex.run(indexKey, async () => {
      const ids = new Set(await readIndex());
      if (ids.has(id) === present) {
        return;
      }
      if (present) {
        ids.add(id);
      } else {
        ids.delete(id);
      }
      await writeRaw(indexKey, [...ids]);
    });
  };

  const loadAll = async (): Promise<T[]> => {
    const records: T[] = [];
    if (backend.scan) {
      for await (const [key, value] of backend.scan(prefix)) {
        if (value !== undefined && value !== null) {
          records.push(decode(value, key.slice(prefix.length)));
        }
      }
      return records;
    }
    const ids = await readIndex();
    if (ids.length === 0) {
      return records;
    }
    const values = await keyv.getMany(ids.map(keyOf));
    values.forEach((value, position) => {
      if (value !== undefined && value !== null) {
        records.push(decode(value, ids[position] as string));
      }
    });
    return records;
  };

  /**
   * One page straight from the backend when it can evaluate the whole query (exact filter on plain
   * primitive fields, sort on one, a cursor holding a primitive): `take` records in order, decoded.
   * Undefined when the query must run in process.
   */
  const selectInBackend = async (
    filter: CollectionQuery<T>['filter'],
    direction: 'asc' | 'desc',
    field: string,
    cursor: DecodedCursor | undefined,
    take: number,
  ): Promise<T[] | undefined> => {
    const conditions = backend.select ? pushdown?.conditions(filter) : undefined;
    if (backend.select === undefined || conditions === undefined || !pushdown?.sortable(field)) {
      return undefined;
    }
    let after: { value: string | number | boolean | null | undefined; id: string } | undefined;
    if (cursor !== undefined) {
      const value = cursor.value;
      if (
        (value !== undefined && !isQueryablePrimitive(value)) ||
        isOrderSensitive(value) ||
        isOrderSensitive(cursor.id)
      ) {
        return undefined;
      }
      after = { value, id: cursor.id };
    }
    let rows: Array<[string, unknown]>;
    try {
      await indexesReady;
      rows = await backend.select(prefix, {
        where: conditions,
        sort: { field, direction },
        after,
        limit: take,
      });
    } catch {
      // The query is an optimization: text the database cannot extract (a NUL in PostgreSQL JSON),
      // a foreign row that is not JSON … fall back to reading every record.
      return undefined;
    }
    return rows
      .filter(([, value]) => value !== undefined && value !== null)
      .map(([key, value]) => decode(value, key.slice(prefix.length)));
  };

  const validateRecord = (record: unknown): T => {
    const parsed = parseOrThrow(schema, record, `record for collection "${name}"`);
    assertId(parsed.id, name);
    const inputVersion = (record as StoredRecord | undefined)?.version;
    if (parsed.version === undefined && typeof inputVersion === 'number') {
      return { ...parsed, version: inputVersion };
    }
    return parsed;
  };

  const collection: Collection<T> = {
    name,
    schema,

    async get(id) {
      assertId(id, name);
      const raw = await readRaw(keyOf(id));
      return raw === undefined || raw === null ? undefined : decode(raw, id);
    },

    async require(id) {
      const record = await collection.get(id);
      if (record === undefined) {
        throw tunekitError('NOT_FOUND', `No record "${id}" in collection "${name}"`, {
          collection: name,
          id,
        });
      }
      return record;
    },

    async set(record) {
      const parsed = validateRecord(record);
      await mutex.run(keyOf(parsed.id), async () => {
        await writeRaw(keyOf(parsed.id), parsed);
        await changeIndex(parsed.id, true);
      });
      return parsed;
    },

    async create(record) {
      const parsed = validateRecord(record);
      const key = keyOf(parsed.id);
      const taken = () =>
        tunekitError('CONFLICT', `Record "${parsed.id}" already exists in collection "${name}"`, {
          collection: name,
          id: parsed.id,
        });
      await mutex.run(key, async () => {
        if (backend.insertIfAbsent) {
          let inserted: boolean;
          try {
            inserted = await backend.insertIfAbsent(key, parsed);
          } catch (error) {
            throw storageFailed(`Inserting "${key}" into ${backend.kind} storage failed`, error);
          }
          if (!inserted) {
            throw taken();
          }
        } else {
          const current = await readRaw(key);
          if (current !== undefined && current !== null) {
            throw taken();
          }
          await writeRaw(key, parsed);
        }
        await changeIndex(parsed.id, true);
      });
      return parsed;
    },

    async delete(id) {
      assertId(id, name);
      return mutex.run(keyOf(id), async () => {
        let deleted: boolean;
        try {
          deleted = await keyv.delete(keyOf(id));
        } catch (error) {
          throw storageFailed(`Deleting "${keyOf(id)}" from ${backend.kind} storage failed`, error);
        }
        await changeIndex(id, false);
        return deleted;
      });
    },

    async list(query = {}) {
      const limit = query.limit ?? DEFAULT_PAGE_SIZE;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
        throw validationFailed(
          `Invalid limit ${String(limit)}: expected an integer from 1 to ${MAX_PAGE_SIZE}`,
          {
            limit,
          },
        );
      }
      const sort: Required<CollectionSort<T>> = {
        field: query.sort?.field ?? ('id' as CollectionSort<T>['field']),
        direction: query.sort?.direction ?? 'asc',
      };
      if (sort.direction !== 'asc' && sort.direction !== 'desc') {
        throw validationFailed(
          `Invalid sort direction ${JSON.stringify(sort.direction)}: use "asc" or "desc"`,
        );
      }
      const field = sort.field as string;
      const sortValueOf = (record: T) => (record as Record<string, unknown>)[field];
      const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor, name);
      if (cursor !== undefined && (cursor.field !== field || cursor.direction !== sort.direction)) {
        throw validationFailed(
          `Cursor for collection "${name}" was issued for sort ${cursor.field} ${cursor.direction}, not ${field} ${sort.direction}`,
        );
      }
      const pageOf = (records: T[]): CollectionPage<T> => {
        const items = records.slice(0, limit);
        const last = items.at(-1);
        const page: CollectionPage<T> = { items };
        if (records.length > limit && last !== undefined) {
          page.nextCursor = encodeCursor({
            field,
            direction: sort.direction,
            value: sortValueOf(last),
            id: last.id,
          });
        }
        return page;
      };
      const selected = await selectInBackend(query.filter, sort.direction, field, cursor, limit + 1);
      if (selected !== undefined) {
        const orderSafe = selected.every(
          (record) => !isOrderSensitive(record.id) && !isOrderSensitive(sortValueOf(record)),
        );
        if (orderSafe) {
          return pageOf(selected);
        }
      }
      let records = (await loadAll()).filter((record) => matchesFilter(record, query.filter));
      records.sort((left, right) =>
        compareKeys(sortValueOf(left), left.id, sortValueOf(right), right.id, sort.direction),
      );
      if (cursor !== undefined) {
        records = records.filter(
          (record) =>
            compareKeys(sortValueOf(record), record.id, cursor.value, cursor.id, sort.direction) > 0,
        );
      }
      return pageOf(records);
    },

    async count(filter) {
      const conditions = backend.count ? pushdown?.conditions(filter) : undefined;
      if (backend.count && conditions !== undefined) {
        try {
          await indexesReady;
          return await backend.count(prefix, conditions);
        } catch {
          // As in `list`: the query is an optimization, the full read below is the reference.
        }
      }
      return (await loadAll()).filter((record) => matchesFilter(record, filter)).length;
    },

    async update(id, updater) {
      assertId(id, name);
      const key = keyOf(id);
      return mutex.run(key, async () => {
        const raw = await readRaw(key);
        if (raw === undefined || raw === null) {
          throw tunekitError('NOT_FOUND', `No record "${id}" in collection "${name}"`, {
            collection: name,
            id,
          });
        }
        const current = decode(raw, id);
        const next = validateRecord(await updater(structuredClone(current)));
        if (next.id !== id) {
          throw validationFailed(
            `update of "${id}" in collection "${name}" must not change the id (got "${next.id}")`,
            {
              collection: name,
              id,
            },
          );
        }
        const stored = { ...next, version: (current.version ?? 0) + 1 } as T;
        const conflict = () =>
          tunekitError(
            'CONFLICT',
            `Record "${id}" in collection "${name}" changed during update (version ${current.version ?? 0} is stale)`,
            { collection: name, id, expectedVersion: current.version ?? 0 },
          );
        if (backend.compareAndSwap) {
          let swapped: boolean;
          try {
            swapped = await backend.compareAndSwap(key, raw, stored);
          } catch (error) {
            throw storageFailed(`Compare-and-set of "${key}" in ${backend.kind} storage failed`, error);
          }
          if (!swapped) {
            throw conflict();
          }
          return stored;
        }
        const reread = await readRaw(key);
        if (!isDeepStrictEqual(reread, raw)) {
          throw conflict();
        }
        await writeRaw(key, stored);
        return stored;
      });
    },
  };
  return collection;
}
