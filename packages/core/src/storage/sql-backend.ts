import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Keyv } from 'keyv';
import { type TunekitError, tunekitError } from '../errors/tunekit-error.js';
import type { BackendCondition, BackendQuery, StorageBackend, StoredPrimitive } from './storage-backend.js';

/** Options of {@link createSqlBackend}. */
export type SqlBackendOptions =
  | { dialect: 'sqlite'; path: string; table?: string }
  | { dialect: 'postgres'; uri: string; table?: string };

type Row = { key: string; value: string };
type CountRow = { count: number | string; unsafe?: boolean };
interface PgPool {
  query(sql: string, values?: unknown[]): Promise<{ rows: Row[] }>;
  end(): Promise<void>;
}
type PgPoolConstructor = new (options: { connectionString?: string; max?: number }) => PgPool;
type Query = (sql: string, parameters: unknown[]) => Promise<Row[]>;

/** Default table of the SQL backends. */
export const DEFAULT_STORAGE_TABLE = 'tunekit';

function storageFailed(message: string, cause: unknown): TunekitError {
  return tunekitError(
    'STORAGE_FAILED',
    `${message}: ${cause instanceof Error ? cause.message : String(cause)}`,
    undefined,
    { cause },
  );
}

const plainField = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * How one SQL dialect reads a top-level field of the record out of keyv's stored text
 * (`{"value":{…record…}}`). Field names are checked identifiers, inlined so that an expression
 * index on the same text can serve the query; values are always bound parameters.
 *
 * An exact filter is written over the sort keys (type rank, then value), so one index on a field's
 * sort keys and the key serves filters on the field, sorts on it, and filters sorted by id.
 */
interface FieldSql {
  /** JSON type of the field in `document`, SQL NULL when the record lacks it. */
  type(field: string, document: string): string;
  /** The field is a JSON value of the same type equal to `value`. */
  equals(
    field: string,
    value: Exclude<StoredPrimitive, null>,
    bind: (value: unknown) => string,
    document: string,
  ): string;
  /** Sort keys of the field, in order: type rank (missing and null last), then value(s). */
  sortKeys(field: string, document: string): string[];
  /** Parameter values comparing equal to `sortKeys` for a value of the cursor. */
  sortParameters(value: StoredPrimitive | undefined): unknown[];
  /** Casts or collations for each sort key parameter. */
  sortParameterSql(parameter: string, position: number): string;
  /** The key column as ordered by the scan (byte order). */
  readonly key: string;
}

const sqliteField: FieldSql = {
  type: (field) => `json_type(value, '$.value.${field}')`,
  equals(field, value, bind, document) {
    const [rank, sortValue] = sqliteField.sortKeys(field, document);
    if (typeof value === 'boolean') {
      return `(${rank} = 0 AND ${sortValue} = ${value ? 1 : 0})`;
    }
    return `(${rank} = ${typeof value === 'number' ? 1 : 2} AND ${sortValue} = ${bind(value)})`;
  },
  sortKeys: (field, document) => [
    `CASE ${sqliteField.type(field, document)} WHEN 'true' THEN 0 WHEN 'false' THEN 0 WHEN 'integer' THEN 1 WHEN 'real' THEN 1 WHEN 'text' THEN 2 WHEN 'array' THEN 3 WHEN 'object' THEN 3 ELSE 5 END`,
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
  type: (field, document) => `jsonb_typeof(${document}->'value'->'${field}')`,
  equals(field, value, bind, document) {
    const [rank, number, text] = postgresField.sortKeys(field, document);
    if (typeof value === 'boolean') {
      return `(${rank} = 0 AND ${number} = ${value ? 1 : 0} AND ${text} = '')`;
    }
    if (typeof value === 'number') {
      return `(${rank} = 1 AND ${number} = ${bind(value)}::numeric AND ${text} = '')`;
    }
    return `(${rank} = 2 AND ${number} = 0 AND ${text} = ${bind(value)})`;
  },
  sortKeys(field, document) {
    const type = postgresField.type(field, document);
    const text = `(${document}->'value'->>'${field}')`;
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

/** A SQL string literal (prefixes are inlined so that partial indexes match the query text). */
function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** Name of the index on `field` of the records under `prefix`: readable, unique, at most 63 bytes. */
function indexName(table: string, prefix: string, field: string): string {
  const digest = createHash('sha256')
    .update(`${table}\u0000${prefix}\u0000${field}`)
    .digest('hex')
    .slice(0, 10);
  const collection = prefix.replace(/^tunekit:/, '').replace(/:$/, '');
  const readable = `${table}_${collection.replaceAll(/[^A-Za-z0-9_]/g, '_')}_${field}`;
  return `${readable.slice(0, 48)}_${digest}`;
}

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
 * one query (no LIKE wildcards, no OFFSET paging that skips rows under concurrent deletes), an
 * atomic compare-and-set (`UPDATE … WHERE key = ? AND value = <value read> RETURNING key`) and an
 * atomic insert-if-absent (`INSERT … ON CONFLICT (key) DO NOTHING RETURNING key`).
 */
export async function createSqlBackend(options: SqlBackendOptions): Promise<StorageBackend> {
  const table = options.table ?? DEFAULT_STORAGE_TABLE;
  let store: { query: (...args: never[]) => Promise<Row[]>; disconnect(): Promise<void> };
  let query: Query;
  let fieldSql: FieldSql;
  let scanSql: string;
  let scanParameters: (start: string, end: string) => unknown[];
  let selectSql: string;
  let updateSql: string;
  let insertSql: string;
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
      selectSql = `SELECT key, value FROM ${table} WHERE key = ?`;
      updateSql = `UPDATE ${table} SET value = ? WHERE key = ? AND value = ? RETURNING key`;
      insertSql = `INSERT INTO ${table} (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING RETURNING key`;
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
      // Byte order ("C"): the range is an exact prefix match, served by the key index made below.
      scanSql = `SELECT key, value FROM ${table} WHERE key COLLATE "C" >= $1 AND key COLLATE "C" < $2 ORDER BY key COLLATE "C"`;
      scanParameters = (start, end) => [start, end];
      fieldSql = postgresField;
      selectSql = `SELECT key, value FROM ${table} WHERE key = $1`;
      updateSql = `UPDATE ${table} SET value = $1 WHERE key = $2 AND value = $3 RETURNING key`;
      insertSql = `INSERT INTO ${table} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING RETURNING key`;
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
  if (options.dialect === 'postgres') {
    // The primary key index orders keys by the database collation; key ranges and key order in
    // queries compare bytes ("C"), which only an index with that collation serves.
    await query(`CREATE INDEX IF NOT EXISTS "${table}_key_c" ON ${table} ((key COLLATE "C"))`, []).catch(
      () => undefined, // another process creating it at the same moment, or no CREATE privilege
    );
  }
  /** Fields with an index, per stored prefix (filled by `createIndexes`). */
  const indexed = new Map<string, Set<string>>();
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
  /** The stored keys under `prefix`, as literals: a partial index on the same text then matches. */
  const rangeSql = (prefix: string) => {
    const { start, end } = range(prefix);
    return `${fieldSql.key} >= ${literal(start)} AND ${fieldSql.key} < ${literal(end)}`;
  };
  /**
   * PostgreSQL parses the text of a row once (`parsed.doc`, a lateral subquery the planner keeps),
   * except for indexed fields, read from `(value::jsonb)` exactly as the index expression does.
   * jsonb rejects `\u0000`: an index covers only rows without it, so a query using an index skips
   * such rows and reports whether the collection holds any (then it fails, and the caller reads
   * in process). SQLite has a JSON parse cache and one expression form.
   */
  const documents = (prefix: string, fields: string[]) => {
    if (options.dialect === 'sqlite') {
      return { document: () => 'value', from: table, guarded: false };
    }
    const withIndex = indexed.get(prefix) ?? new Set<string>();
    const document = (field: string) => (withIndex.has(field) ? '(value::jsonb)' : 'parsed.doc');
    const parsed = fields.some((field) => !withIndex.has(field));
    return {
      document,
      from: parsed
        ? `${table} CROSS JOIN LATERAL (SELECT ${table}.value::jsonb AS doc OFFSET 0) AS parsed`
        : table,
      guarded: fields.some((field) => withIndex.has(field)),
    };
  };
  /** True when a row under `prefix` holds text an index skips (`\u0000`, see `documents`). */
  const unsafeRowsSql = (prefix: string) =>
    // Ordered by key so that the planner takes the (tiny) partial index instead of hoping a
    // sequential scan meets such a row early.
    // (A scalar subquery keeps its ORDER BY and LIMIT; EXISTS would drop them.)
    `(SELECT key FROM ${table} WHERE ${rangeSql(prefix)} AND strpos(value, '\\u0000') > 0 ORDER BY ${fieldSql.key} LIMIT 1) IS NOT NULL`;
  /** Builds `WHERE …` over the prefix and the conditions; fills `parameters` in placeholder order. */
  const whereSql = async (
    prefix: string,
    where: BackendCondition[],
    parameters: unknown[],
    document: (field: string) => string,
    guarded: boolean,
  ) => {
    const bind = (value: unknown) => {
      parameters.push(value);
      return options.dialect === 'sqlite' ? '?' : `$${parameters.length}`;
    };
    const clauses = [rangeSql(prefix)];
    if (guarded) {
      clauses.push(`strpos(value, '\\u0000') = 0`);
    }
    for (const condition of where) {
      const type = fieldSql.type(condition.field, document(condition.field));
      const equals =
        condition.equals === null
          ? `${type} = 'null'`
          : fieldSql.equals(
              condition.field,
              (await stored(condition.equals)) as string | number | boolean,
              bind,
              document(condition.field),
            );
      clauses.push(condition.orMissing ? `(${type} IS NULL OR ${equals})` : equals);
    }
    return { clauses, bind };
  };
  const checkFields = (fields: string[]) => {
    for (const field of fields) {
      if (!plainField.test(field)) {
        throw new Error(`Field ${JSON.stringify(field)} cannot be queried in SQL`);
      }
    }
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
      const { field, direction } = request.sort;
      const fields = [
        ...request.where.map((condition) => condition.field),
        ...(field === 'id' ? [] : [field]),
      ];
      checkFields(fields);
      const { document, guarded } = documents(prefix, fields);
      let { from } = documents(prefix, fields);
      const withIndex = indexed.get(prefix);
      if (
        options.dialect === 'sqlite' &&
        withIndex?.has(field) &&
        !request.where.some((condition) => withIndex.has(condition.field))
      ) {
        // SQLite's planner ignores the LIMIT and would sort the whole key range instead.
        from = `${table} INDEXED BY "${indexName(table, storedKey(prefix), field)}"`;
      }
      const parameters: unknown[] = [];
      const { clauses, bind } = await whereSql(prefix, request.where, parameters, document, guarded);
      const keys = [...(field === 'id' ? [] : fieldSql.sortKeys(field, document(field))), fieldSql.key];
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
      const page = `SELECT key, value FROM ${from} WHERE ${clauses.join(' AND ')} ORDER BY ${order} LIMIT ${bind(request.limit)}`;
      // Guarded: the page, then one row of NULLs when rows the index skips exist.
      const sql = guarded
        ? `WITH page AS MATERIALIZED (${page}) SELECT key, value FROM page UNION ALL SELECT NULL, NULL WHERE ${unsafeRowsSql(prefix)}`
        : page;
      const rows = await query(sql, parameters);
      const entries: Array<[string, unknown]> = [];
      for (const row of rows) {
        if (row.key === null) {
          throw new Error('Rows holding \\u0000 are not indexed: the query must run in process');
        }
        const data = await keyv.deserializeData<unknown>(row.value);
        if (data !== undefined) {
          entries.push([unprefix(row.key), data.value]);
        }
      }
      return entries;
    },
    async count(prefix, where) {
      const fields = where.map((condition) => condition.field);
      checkFields(fields);
      const { document, from, guarded } = documents(prefix, fields);
      const parameters: unknown[] = [];
      const { clauses } = await whereSql(prefix, where, parameters, document, guarded);
      const rows = (await query(
        `SELECT COUNT(*) AS count${guarded ? `, ${unsafeRowsSql(prefix)} AS unsafe` : ''} FROM ${from} WHERE ${clauses.join(' AND ')}`,
        parameters,
      )) as unknown as CountRow[];
      if (rows[0]?.unsafe === true) {
        throw new Error('Rows holding \\u0000 are not indexed: the count must run in process');
      }
      return Number(rows[0]?.count ?? 0);
    },
    async createIndexes(prefix, fields) {
      checkFields([...fields]);
      const sqlite = options.dialect === 'sqlite';
      const partial = sqlite ? rangeSql(prefix) : `${rangeSql(prefix)} AND strpos(value, '\\u0000') = 0`;
      if (!sqlite) {
        // Finds the rows the indexes skip without reading the others.
        await query(
          `CREATE INDEX IF NOT EXISTS "${table}_unindexable" ON ${table} ((key COLLATE "C")) WHERE strpos(value, '\\u0000') > 0`,
          [],
        );
      }
      for (const field of fields) {
        const document = sqlite ? 'value' : '(value::jsonb)';
        const columns = [...fieldSql.sortKeys(field, document), fieldSql.key].map((column) =>
          sqlite ? column : `(${column})`,
        );
        await query(
          `CREATE INDEX IF NOT EXISTS "${indexName(table, storedKey(prefix), field)}" ON ${table} (${columns.join(', ')}) WHERE ${partial}`,
          [],
        );
        const fieldsOfPrefix = indexed.get(prefix) ?? new Set<string>();
        fieldsOfPrefix.add(field);
        indexed.set(prefix, fieldsOfPrefix);
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
    async insertIfAbsent(key, value) {
      const serialized = await keyv.serializeData({ value, expires: undefined });
      const inserted = await query(insertSql, [storedKey(key), serialized]);
      return inserted.length === 1;
    },
    async close() {
      await store.disconnect();
    },
  };
}
