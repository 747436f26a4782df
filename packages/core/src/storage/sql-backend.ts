import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Keyv } from 'keyv';
import { ErrorCodes } from '../errors/error-codes.js';
import { TunekitError } from '../errors/tunekit-error.js';
import type { StorageBackend } from './storage-backend.js';

/** Options of {@link createSqlBackend}. */
export type SqlBackendOptions =
  | { dialect: 'sqlite'; path: string; table?: string }
  | { dialect: 'postgres'; uri: string; table?: string };

type Row = { key: string; value: string };
interface PgPool {
  query(sql: string, values?: unknown[]): Promise<{ rows: Row[] }>;
  end(): Promise<void>;
}
type PgPoolConstructor = new (options: { connectionString?: string; max?: number }) => PgPool;
type Query = (sql: string, parameters: unknown[]) => Promise<Row[]>;

/** Default table of the SQL backends. */
export const DEFAULT_STORAGE_TABLE = 'tunekit';

function storageFailed(message: string, cause: unknown): TunekitError {
  return new TunekitError({
    code: 'STORAGE_FAILED',
    status: ErrorCodes.STORAGE_FAILED.status,
    message: `${message}: ${cause instanceof Error ? cause.message : String(cause)}`,
    cause,
  });
}

/**
 * A backend over `@keyv/sqlite` or `@keyv/postgres` (imported lazily). Besides keyv's get/set/
 * delete it uses the adapter's SQL connection for two things keyv lacks: an exact prefix scan in
 * one query (no LIKE wildcards, no OFFSET paging that skips rows under concurrent deletes) and an
 * atomic compare-and-set (`UPDATE … WHERE key = ? AND value = <value read> RETURNING key`).
 */
export async function createSqlBackend(options: SqlBackendOptions): Promise<StorageBackend> {
  const table = options.table ?? DEFAULT_STORAGE_TABLE;
  let store: { query: (...args: never[]) => Promise<Row[]>; disconnect(): Promise<void> };
  let query: Query;
  let scanSql: string;
  let scanParameters: (start: string, end: string) => unknown[];
  let selectSql: string;
  let updateSql: string;
  const label = options.dialect === 'sqlite' ? `SQLite file ${options.path}` : 'PostgreSQL';
  try {
    if (options.dialect === 'sqlite') {
      if (options.path !== ':memory:') {
        await mkdir(dirname(resolve(options.path)), { recursive: true });
      }
      const { KeyvSqlite } = await import('@keyv/sqlite');
      const sqlite = new KeyvSqlite({ uri: `sqlite://${options.path}`, table, busyTimeout: 10_000 });
      // Connection errors surface from the probe query below; without a listener they would crash.
      sqlite.on('error', () => undefined);
      store = sqlite as unknown as typeof store;
      query = (sql, parameters) =>
        (sqlite.query as (sql: string, ...rest: unknown[]) => Promise<Row[]>)(sql, ...parameters);
      // BINARY collation: a key range is an exact prefix match and uses the primary key index.
      scanSql = `SELECT key, value FROM ${table} WHERE key >= ? AND key < ? ORDER BY key`;
      scanParameters = (start, end) => [start, end];
      selectSql = `SELECT key, value FROM ${table} WHERE key = ?`;
      updateSql = `UPDATE ${table} SET value = ? WHERE key = ? AND value = ? RETURNING key`;
    } else {
      const { KeyvPostgres } = await import('@keyv/postgres');
      // @keyv/postgres keeps one module-wide pool and ends it on any instance's disconnect; give
      // each storage its own pool so that closing one does not break another.
      const pgModuleName = 'pg';
      const pg = ((await import(pgModuleName)) as { default: { Pool: PgPoolConstructor } }).default;
      class PooledPostgres extends KeyvPostgres {
        declare ownPool: PgPool | undefined;
        override async connect() {
          this.ownPool ??= new pg.Pool({ connectionString: this.opts.uri, max: 10 });
          const pool = this.ownPool;
          return async (sql: string, values?: unknown[]) => (await pool.query(sql, values)).rows;
        }
        override async disconnect() {
          await this.ownPool?.end();
        }
      }
      const postgres = new PooledPostgres({ uri: options.uri, table });
      postgres.on('error', () => undefined);
      store = postgres as unknown as typeof store;
      query = (sql, parameters) => postgres.query(sql, parameters) as Promise<Row[]>;
      scanSql = `SELECT key, value FROM ${table} WHERE starts_with(key, $1) ORDER BY key COLLATE "C"`;
      scanParameters = (start) => [start];
      selectSql = `SELECT key, value FROM ${table} WHERE key = $1`;
      updateSql = `UPDATE ${table} SET value = $1 WHERE key = $2 AND value = $3 RETURNING key`;
    }
    if (options.dialect === 'sqlite' && options.path !== ':memory:') {
      // WAL: readers do not block the writer and a commit appends to the log instead of rewriting
      // pages through a rollback journal; synchronous=NORMAL then syncs only at checkpoints, so a
      // commit costs no fsync (a power cut may lose the last commits, never corrupt the file).
      // busy_timeout (also set by the adapter's `busyTimeout`) makes processes sharing the file
      // wait up to 10 s for a lock instead of failing with SQLITE_BUSY.
      await query('PRAGMA busy_timeout = 10000', []);
      await query('PRAGMA journal_mode = WAL', []);
      await query('PRAGMA synchronous = NORMAL', []);
    }
    // The adapters create their table asynchronously and swallow connection errors: surface them now.
    await query(`SELECT key, value FROM ${table} WHERE key = ${options.dialect === 'sqlite' ? '?' : '$1'}`, [
      '',
    ]);
  } catch (error) {
    throw storageFailed(`Cannot open ${label}`, error);
  }
  const keyv = new Keyv({ store, namespace: 'tunekit', throwOnErrors: true });
  const storedKey = (key: string) => keyv._getKeyPrefix(key);
  const unprefix = (key: string) => keyv._getKeyUnprefix(key);

  return {
    keyv,
    kind: options.dialect,
    async *scan(prefix) {
      const start = storedKey(prefix);
      // Upper bound of the range: the prefix with its last character incremented.
      const end = start.slice(0, -1) + String.fromCharCode(start.charCodeAt(start.length - 1) + 1);
      const rows = await query(scanSql, scanParameters(start, end));
      for (const row of rows) {
        if (!row.key.startsWith(start)) {
          continue;
        }
        const data = await keyv.deserializeData<unknown>(row.value);
        if (data !== undefined) {
          yield [unprefix(row.key), data.value];
        }
      }
    },
    async compareAndSwap(key, expected, next) {
      const serialized = await keyv.serializeData({ value: next, expires: undefined });
      // Fast path, one statement: the stored text is what keyv writes for `expected` (the usual case,
      // since `expected` was read back through keyv). A match is exact, so the swap stays atomic.
      const expectedText = await keyv.serializeData({ value: expected, expires: undefined });
      if (typeof expectedText === 'string') {
        const swapped = await query(updateSql, [serialized, storedKey(key), expectedText]);
        if (swapped.length === 1) {
          return true;
        }
      }
      // Slow path: the value moved, or its stored text differs from keyv's serialization of it.
      const rows = await query(selectSql, [storedKey(key)]);
      const row = rows[0];
      if (row === undefined) {
        return false;
      }
      const current = await keyv.deserializeData<unknown>(row.value);
      if (!isDeepStrictEqual(current?.value, expected)) {
        return false;
      }
      const updated = await query(updateSql, [serialized, storedKey(key), row.value]);
      return updated.length === 1;
    },
    async close() {
      await store.disconnect();
    },
  };
}
