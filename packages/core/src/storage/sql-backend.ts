import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Keyv } from 'keyv';
import { ErrorCodes } from '../errors/error-codes.js';
import { TunekitError } from '../errors/tunekit-error.js';
import type { BackendCondition, BackendQuery, StorageBackend, StoredPrimitive } from './storage-backend.js';

/** Options of {@link createSqlBackend}. */
export type SqlBackendOptions =
  | { dialect: 'sqlite'; path: string; table?: string }
  | { dialect: 'postgres'; uri: string; table?: string };

type Row = { key: string; value: string };
type CountRow = { count: number | string };
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

const plainField = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * How one SQL dialect reads a top-level field of the record out of keyv's stored text
 * (`{"value":{…record…}}`). Field names are checked identifiers, inlined so that an expression
 * index on the same text can serve the query; values are always bound parameters.
 */
interface FieldSql {
  /** JSON type of the field, SQL NULL when the record lacks it. */
  type(field: string): string;
  /** The field is a JSON value of the same type equal to `parameter` (a placeholder). */
  equals(field: string, value: Exclude<StoredPrimitive, null>, bind: (value: unknown) => string): string;
  /** Sort keys of the field, in order: type rank (missing and null last), then value(s). */
  sortKeys(field: string): string[];
  /** Parameter values comparing equal to `sortKeys` for a value of the cursor. */
  sortParameters(value: StoredPrimitive | undefined): unknown[];
  /** Casts or collations for each sort key parameter. */
  sortParameterSql(parameter: string, position: number): string;
  /** The key column as ordered by the scan (byte order). */
  readonly key: string;
}

const sqliteField: FieldSql = {
  type: (field) => `json_type(value, '$.value.${field}')`,
  equals(field, value, bind) {
    const type = sqliteField.type(field);
    if (typeof value === 'boolean') {
      return `${type} = '${value ? 'true' : 'false'}'`;
    }
    const types = typeof value === 'number' ? `IN ('integer', 'real')` : `= 'text'`;
    return `(${type} ${types} AND json_extract(value, '$.value.${field}') = ${bind(value)})`;
  },
  sortKeys: (field) => [
    `CASE ${sqliteField.type(field)} WHEN 'true' THEN 0 WHEN 'false' THEN 0 WHEN 'integer' THEN 1 WHEN 'real' THEN 1 WHEN 'text' THEN 2 WHEN 'array' THEN 3 WHEN 'object' THEN 3 ELSE 5 END`,
    // true/false read as 1/0; JSON null and missing as SQL NULL, made 0 so row values compare.
    `COALESCE(json_extract(value, '$.value.${field}'), 0)`,
  ],
  sortParameters: (value) => [
    sortRank(value),
    value === undefined || value === null ? 0 : typeof value === 'boolean' ? Number(value) : value,
  ],
  sortParameterSql: (parameter) => parameter,
  key: 'key',
};

const postgresField: FieldSql = {
  type: (field) => `json_typeof((value::json)->'value'->'${field}')`,
  equals(field, value, bind) {
    const text = `((value::json)->'value'->>'${field}')`;
    if (typeof value === 'boolean') {
      return `(${postgresField.type(field)} = 'boolean' AND ${text} = '${value ? 'true' : 'false'}')`;
    }
    if (typeof value === 'number') {
      return `(${postgresField.type(field)} = 'number' AND ${text}::numeric = ${bind(value)}::numeric)`;
    }
    return `(${postgresField.type(field)} = 'string' AND ${text} = ${bind(value)})`;
  },
  sortKeys(field) {
    const type = postgresField.type(field);
    const text = `((value::json)->'value'->>'${field}')`;
    return [
      `CASE ${type} WHEN 'boolean' THEN 0 WHEN 'number' THEN 1 WHEN 'string' THEN 2 WHEN 'array' THEN 3 WHEN 'object' THEN 3 ELSE 5 END`,
      `CASE ${type} WHEN 'number' THEN ${text}::numeric WHEN 'boolean' THEN CASE ${text} WHEN 'true' THEN 1 ELSE 0 END ELSE 0 END`,
      `(CASE ${type} WHEN 'string' THEN ${text} ELSE '' END) COLLATE "C"`,
    ];
  },
  sortParameters: (value) => [
    sortRank(value),
    typeof value === 'number' ? value : typeof value === 'boolean' ? Number(value) : 0,
    typeof value === 'string' ? value : '',
  ],
  sortParameterSql: (parameter, position) =>
    position === 1 ? `${parameter}::numeric` : position === 2 ? `${parameter}::text COLLATE "C"` : parameter,
  key: 'key COLLATE "C"',
};

/** Type rank of a sort value, as the SQL `sortKeys` compute it. */
function sortRank(value: StoredPrimitive | undefined): number {
  if (value === undefined || value === null) {
    return 5;
  }
  return typeof value === 'boolean' ? 0 : typeof value === 'number' ? 1 : 2;
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
  let fieldSql: FieldSql;
  /** Condition selecting the keys under a stored prefix; binds its parameters. */
  let prefixSql: (start: string, end: string, bind: (value: unknown) => string) => string;
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
      fieldSql = sqliteField;
      prefixSql = (start, end, bind) => `key >= ${bind(start)} AND key < ${bind(end)}`;
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
      fieldSql = postgresField;
      prefixSql = (start, _end, bind) => `starts_with(key, ${bind(start)})`;
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
  const range = (prefix: string) => {
    const start = storedKey(prefix);
    // Upper bound of the range: the prefix with its last character incremented.
    const end = start.slice(0, -1) + String.fromCharCode(start.charCodeAt(start.length - 1) + 1);
    return { start, end };
  };
  /** A primitive as keyv stores it (strings starting with ":" get one more). */
  const stored = async (value: StoredPrimitive): Promise<StoredPrimitive> => {
    if (typeof value !== 'string') {
      return value;
    }
    const text = await keyv.serializeData({ value, expires: undefined });
    return (JSON.parse(String(text)) as { value: string }).value;
  };
  /** Builds `WHERE …` over the prefix and the conditions; fills `parameters` in placeholder order. */
  const whereSql = async (prefix: string, where: BackendCondition[], parameters: unknown[]) => {
    const bind = (value: unknown) => {
      parameters.push(value);
      return options.dialect === 'sqlite' ? '?' : `$${parameters.length}`;
    };
    const { start, end } = range(prefix);
    const clauses = [prefixSql(start, end, bind)];
    for (const condition of where) {
      if (!plainField.test(condition.field)) {
        throw new Error(`Field ${JSON.stringify(condition.field)} cannot be queried in SQL`);
      }
      const equals =
        condition.equals === null
          ? `${fieldSql.type(condition.field)} = 'null'`
          : fieldSql.equals(
              condition.field,
              (await stored(condition.equals)) as string | number | boolean,
              bind,
            );
      clauses.push(condition.orMissing ? `(${fieldSql.type(condition.field)} IS NULL OR ${equals})` : equals);
    }
    return { clauses, bind };
  };

  return {
    keyv,
    kind: options.dialect,
    async *scan(prefix) {
      const { start, end } = range(prefix);
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
    async select(prefix, request: BackendQuery) {
      const parameters: unknown[] = [];
      const { clauses, bind } = await whereSql(prefix, request.where, parameters);
      const { field, direction } = request.sort;
      if (field !== 'id' && !plainField.test(field)) {
        throw new Error(`Field ${JSON.stringify(field)} cannot be sorted in SQL`);
      }
      const keys = [...(field === 'id' ? [] : fieldSql.sortKeys(field)), fieldSql.key];
      if (request.after !== undefined) {
        const after = request.after;
        const values = [
          ...(field === 'id' ? [] : fieldSql.sortParameters(await stored(after.value ?? null))),
          storedKey(`${prefix}${after.id}`),
        ];
        const placeholders = values.map((value, position) =>
          position === values.length - 1 ? bind(value) : fieldSql.sortParameterSql(bind(value), position),
        );
        clauses.push(`(${keys.join(', ')}) ${direction === 'asc' ? '>' : '<'} (${placeholders.join(', ')})`);
      }
      const order = keys.map((key) => `${key} ${direction === 'asc' ? 'ASC' : 'DESC'}`).join(', ');
      const sql = `SELECT key, value FROM ${table} WHERE ${clauses.join(' AND ')} ORDER BY ${order} LIMIT ${bind(request.limit)}`;
      const rows = await query(sql, parameters);
      const entries: Array<[string, unknown]> = [];
      for (const row of rows) {
        const data = await keyv.deserializeData<unknown>(row.value);
        if (data !== undefined) {
          entries.push([unprefix(row.key), data.value]);
        }
      }
      return entries;
    },
    async count(prefix, where) {
      const parameters: unknown[] = [];
      const { clauses } = await whereSql(prefix, where, parameters);
      const rows = (await query(
        `SELECT COUNT(*) AS count FROM ${table} WHERE ${clauses.join(' AND ')}`,
        parameters,
      )) as unknown as CountRow[];
      return Number(rows[0]?.count ?? 0);
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
