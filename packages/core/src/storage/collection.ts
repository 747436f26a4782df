import type { z } from 'zod';

/** A record kept in a collection: it has a string id and, optionally, a version for compare-and-set. */
export interface StoredRecord {
  id: string;
  version?: number;
}

/** Sort order of a list query. */
export interface CollectionSort<T> {
  field: keyof T & string;
  direction?: 'asc' | 'desc';
}

/** A list query: filter (exact match on fields, or a predicate), sort, page size and cursor. */
export interface CollectionQuery<T> {
  /** Exact-match field filter, or a predicate run on each record. */
  filter?: Partial<T> | ((record: T) => boolean);
  sort?: CollectionSort<T>;
  /** Page size (default 50, at most 1000). */
  limit?: number;
  /** Opaque cursor returned as `nextCursor` by the previous page. */
  cursor?: string;
}

/** One page of a list query. */
export interface CollectionPage<T> {
  items: T[];
  /** Present when more records follow. */
  nextCursor?: string;
}

/**
 * A typed set of records in the kit's storage.
 *
 * Every write is validated with the collection's zod schema (bad input throws `VALIDATION_FAILED`
 * and stores nothing).
 */
export interface Collection<T extends StoredRecord> {
  /** Collection name (a keyv namespace prefix). */
  readonly name: string;
  /** The schema every record is validated against. */
  readonly schema: z.ZodType<T>;
  get(id: string): Promise<T | undefined>;
  /** Like `get`, but throws `NOT_FOUND` when missing. */
  require(id: string): Promise<T>;
  /** Validates and stores the record (insert or replace). Returns the parsed record. */
  set(record: T): Promise<T>;
  /**
   * Validates and stores the record only if no record with its id exists: insert-if-absent, atomic
   * on SQLite, PostgreSQL and Redis (and within one process on every backend). Of several concurrent
   * creates of one id exactly one succeeds; the others throw `CONFLICT` (409) and store nothing.
   * Returns the parsed record.
   */
  create(record: T): Promise<T>;
  delete(id: string): Promise<boolean>;
  list(query?: CollectionQuery<T>): Promise<CollectionPage<T>>;
  count(filter?: CollectionQuery<T>['filter']): Promise<number>;
  /**
   * Read-modify-write with compare-and-set on `version`: the updater receives the current record and
   * returns the next one; the stored version is incremented. Concurrent updates in this process are
   * serialized; if the stored version changed underneath (another process), it throws `CONFLICT`.
   */
  update(id: string, updater: (current: T) => T | Promise<T>): Promise<T>;
}

/** Options of `storage.collection(name, schema, options)`. */
export interface CollectionOptions<T> {
  /**
   * Top-level fields to index on SQLite and PostgreSQL (other backends ignore them): each must be a
   * plain primitive field of the schema (what `list`/`count` can filter and sort on in SQL). An
   * index serves exact filters on its field, a sort on it, and both with the id as tie-break.
   * Created once (`CREATE INDEX IF NOT EXISTS`) before the collection's first query.
   */
  indexes?: ReadonlyArray<keyof T & string>;
}

/** The kit's storage: typed collections over one keyv store. */
export interface Storage {
  collection<S extends z.ZodType<StoredRecord>>(
    name: string,
    schema: S,
    options?: CollectionOptions<z.infer<S>>,
  ): Collection<z.infer<S>>;
  /** Closes the underlying connection. */
  close(): Promise<void>;
}
