import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keyv } from 'keyv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  findPostgresBinaries,
  POSTGRES_SERVER_MISSING_REASON,
  type PostgresTestServer,
  startPostgresServer,
} from '../testing/start-postgres-server.js';
import type { Collection, CollectionQuery } from './collection.js';
import { createKeyMutex } from './key-mutex.js';
import { createKeyvCollection } from './keyv-collection.js';
import { createQueryPushdown } from './query-pushdown.js';
import { createSqlBackend, type SqlBackendOptions } from './sql-backend.js';
import { createGenericBackend, type StorageBackend } from './storage-backend.js';

const ItemSchema = z.object({
  id: z.string(),
  name: z.string(),
  rank: z.number().optional(),
  score: z.number().nullable().optional(),
  flag: z.boolean().optional(),
  status: z.enum(['queued', 'running', 'done']).default('queued'),
  tags: z.array(z.string()).default([]),
  version: z.number().int().optional(),
});
type Item = z.infer<typeof ItemSchema>;

const names = ['alpha', ':colon', '::double', '', 'Zed', 'zed', 'é', 'a b', 'alpha'];
const ranks = [0, 1, -1, 2.5, 1, 2 ** 53, 1e21, -1e-7, 3];
const statuses = ['queued', 'running', 'done'] as const;

/** Records written through the collection, plus "legacy" raw values missing defaulted fields. */
function items(): Array<{ raw: boolean; value: Record<string, unknown> }> {
  const list: Array<{ raw: boolean; value: Record<string, unknown> }> = [];
  for (let index = 0; index < 45; index += 1) {
    const value: Record<string, unknown> = {
      id: `i${String(index).padStart(2, '0')}`,
      name: names[index % names.length],
      status: statuses[index % 3],
      tags: index % 2 === 0 ? ['even'] : [],
    };
    if (index % 5 !== 4) value.rank = ranks[index % ranks.length];
    if (index % 4 === 1) value.score = null;
    else if (index % 4 === 2) value.score = index / 4;
    if (index % 3 !== 2) value.flag = index % 2 === 0;
    list.push({ raw: false, value });
  }
  // Written before `status` and `tags` existed: reads fill the defaults.
  list.push({ raw: true, value: { id: 'legacy-1', name: 'old', rank: 1 } });
  list.push({ raw: true, value: { id: 'legacy-2', name: 'old', flag: true } });
  // Ids that sort differently in UTF-16 and code point order: the collection must not use SQL order.
  return list;
}

const filters: Array<CollectionQuery<Item>['filter']> = [
  undefined,
  {},
  { status: 'queued' },
  { status: 'done' },
  { status: 'queued', flag: true },
  { rank: 1 },
  { rank: '1' as unknown as number },
  { rank: true as unknown as number },
  { rank: 2 ** 53 },
  { rank: 1e21 },
  { rank: -0 },
  { flag: true },
  { flag: false },
  { flag: 1 as unknown as boolean },
  { score: null },
  { score: undefined, status: 'running' },
  { name: ':colon' },
  { name: '::double' },
  { name: '' },
  { name: 'é' },
  { name: 'zed', rank: 1 },
  { tags: [] },
  { tags: ['even'], status: 'done' },
  { version: 1 },
  { nope: 1 } as unknown as Partial<Item>,
  (item) => (item.rank ?? 0) > 1,
];
const sorts: Array<CollectionQuery<Item>['sort']> = [
  undefined,
  { field: 'id', direction: 'desc' },
  { field: 'rank' },
  { field: 'rank', direction: 'desc' },
  { field: 'name' },
  { field: 'name', direction: 'desc' },
  { field: 'score' },
  { field: 'flag', direction: 'desc' },
  { field: 'status' },
  { field: 'tags' },
];

/** Fields indexed in the "with indexes" runs: every plain field the queries filter or sort on. */
const indexedFields = ['name', 'rank', 'score', 'flag', 'status'] as const;

async function seed(
  backend: StorageBackend,
  name: string,
  indexes: readonly string[] = [],
): Promise<Collection<Item>> {
  const collection = createKeyvCollection({
    backend,
    name,
    schema: ItemSchema,
    mutex: createKeyMutex(),
    indexes,
  });
  for (const { raw, value } of items()) {
    if (raw) {
      await backend.keyv.set(`${name}:${String(value.id)}`, value);
    } else {
      await collection.set(value as Item);
    }
  }
  await collection.update('i03', (item) => ({ ...item, name: 'updated' }));
  return collection;
}

/** Wraps a backend to count the queries it answered (and fail the test on any it could not). */
function spied(backend: StorageBackend) {
  const calls = { select: 0, count: 0, errors: [] as unknown[] };
  const select = backend.select?.bind(backend);
  const count = backend.count?.bind(backend);
  const wrapped: StorageBackend = {
    ...backend,
    scan: backend.scan?.bind(backend),
    compareAndSwap: backend.compareAndSwap?.bind(backend),
    createIndexes: backend.createIndexes?.bind(backend),
    close: () => backend.close(),
    select: select
      ? async (prefix, query) => {
          try {
            const rows = await select(prefix, query);
            calls.select += 1;
            return rows;
          } catch (error) {
            calls.errors.push(error);
            throw error;
          }
        }
      : undefined,
    count: count
      ? async (prefix, where) => {
          try {
            const total = await count(prefix, where);
            calls.count += 1;
            return total;
          } catch (error) {
            calls.errors.push(error);
            throw error;
          }
        }
      : undefined,
  };
  return { backend: wrapped, calls };
}

async function pages(collection: Collection<Item>, query: CollectionQuery<Item>) {
  const all = [];
  let cursor: string | undefined;
  do {
    const page = await collection.list({ ...query, cursor });
    all.push(page);
    cursor = page.nextCursor;
  } while (cursor !== undefined && all.length < 100);
  return all;
}

function describeEquivalence(
  label: string,
  options: () => SqlBackendOptions,
  skipReason?: string,
  indexes: readonly string[] = [],
) {
  const suffix = skipReason === undefined ? '' : ` (skipped: ${skipReason})`;
  const withIndexes = indexes.length === 0 ? '' : ` with indexes on ${indexes.join(', ')}`;
  describe(`SQL query pushdown on ${label}${withIndexes}${suffix}`, () => {
    it.skipIf(skipReason !== undefined)(
      'every filter, sort, page size and cursor returns exactly what the in-process path returns',
      async () => {
        const reference = await seed(createGenericBackend(new Keyv(), 'memory'), 'items');
        const sql = await createSqlBackend(options());
        const { backend, calls } = spied(sql);
        try {
          const collection = await seed(backend, `items_${Math.random().toString(36).slice(2, 8)}`, indexes);
          for (const filter of filters) {
            expect(await collection.count(filter), `count ${String(filter)}`).toBe(
              await reference.count(filter),
            );
            for (const sort of sorts) {
              for (const limit of [1, 4, 50]) {
                const query = { filter, sort, limit };
                expect(await pages(collection, query), JSON.stringify(query)).toEqual(
                  await pages(reference, query),
                );
              }
            }
          }
          expect(calls.errors).toEqual([]);
          // Most of those queries were answered by SQL, not by a fallback.
          expect(calls.select).toBeGreaterThan(500);
          expect(calls.count).toBeGreaterThan(15);
        } finally {
          await sql.close();
        }
      },
      60_000,
    );

    it.skipIf(skipReason !== undefined)(
      'pages whose ids or sort values hold characters from U+D800 up follow UTF-16 order (in process)',
      async () => {
        const reference = createKeyvCollection({
          backend: createGenericBackend(new Keyv(), 'memory'),
          name: 'text',
          schema: ItemSchema,
          mutex: createKeyMutex(),
        });
        const sql = await createSqlBackend(options());
        const { backend, calls } = spied(sql);
        try {
          const collection = createKeyvCollection({
            backend,
            name: `text_${Math.random().toString(36).slice(2, 8)}`,
            schema: ItemSchema,
            mutex: createKeyMutex(),
            indexes,
          });
          const texts = ['\uFF01', '😀', 'a', '\uE000', '𝔸', 'b\u0000c', 'z'];
          for (const [index, text] of texts.entries()) {
            for (const target of [reference, collection]) {
              await target.set({
                id: text.replace('\u0000', '0'),
                name: text,
                rank: index % 2,
                status: 'queued',
                tags: [],
              });
              await target.set({ id: `n${index}`, name: text, rank: 1, status: 'queued', tags: [] });
            }
          }
          for (const sort of [undefined, { field: 'name' }, { field: 'rank' }] as const) {
            for (const limit of [1, 3, 50]) {
              for (const filter of [undefined, { name: '😀' }, { name: 'b\u0000c' }, { rank: 1 }]) {
                const query = { sort, limit, filter } as CollectionQuery<Item>;
                expect(await pages(collection, query), JSON.stringify(query)).toEqual(
                  await pages(reference, query),
                );
                expect(await collection.count(filter)).toBe(await reference.count(filter));
              }
            }
          }
        } finally {
          await sql.close();
        }
        expect(calls.select).toBeGreaterThan(0);
      },
      60_000,
    );
  });
}

const directory = await mkdtemp(join(tmpdir(), 'tunekit-pushdown-'));
afterAll(() => rm(directory, { recursive: true, force: true }));
describeEquivalence('SQLite', () => ({ dialect: 'sqlite', path: join(directory, 'pushdown.sqlite') }));
describeEquivalence(
  'SQLite',
  () => ({ dialect: 'sqlite', path: join(directory, 'pushdown.sqlite') }),
  undefined,
  indexedFields,
);

const postgresAvailable = findPostgresBinaries() !== undefined;
let postgres: PostgresTestServer | undefined;
beforeAll(async () => {
  if (postgresAvailable) {
    postgres = await startPostgresServer();
  }
}, 60_000);
afterAll(() => postgres?.stop());
describeEquivalence(
  'PostgreSQL',
  () => ({ dialect: 'postgres', uri: (postgres as PostgresTestServer).uri }),
  postgresAvailable ? undefined : POSTGRES_SERVER_MISSING_REASON,
);
describeEquivalence(
  'PostgreSQL',
  () => ({ dialect: 'postgres', uri: (postgres as PostgresTestServer).uri }),
  postgresAvailable ? undefined : POSTGRES_SERVER_MISSING_REASON,
  indexedFields,
);

describe('createQueryPushdown', () => {
  const pushdown = createQueryPushdown(
    z.object({
      id: z.string(),
      status: z.enum(['a', 'b']).default('a'),
      count: z.coerce.number(),
      when: z.string().transform((text) => text.trim()),
      kind: z.literal('x').nullable().optional(),
      'odd-name': z.string(),
    }),
  );

  it('pushes exact matches on plain primitive fields, with the default standing in for a missing field', () => {
    expect(pushdown.conditions({ status: 'a', kind: null })).toEqual([
      { field: 'status', equals: 'a', orMissing: true },
      { field: 'kind', equals: null, orMissing: false },
    ]);
    expect(pushdown.conditions({ status: 'b', id: undefined })).toEqual([
      { field: 'status', equals: 'b', orMissing: false },
    ]);
    expect(pushdown.conditions(undefined)).toEqual([]);
  });

  it('keeps predicates, coerced, transformed or oddly named fields, and non-JSON numbers in process', () => {
    expect(pushdown.conditions(() => true)).toBeUndefined();
    expect(pushdown.conditions({ count: 1 })).toBeUndefined();
    expect(pushdown.conditions({ when: 'x' })).toBeUndefined();
    expect(pushdown.conditions({ 'odd-name': 'x' })).toBeUndefined();
    expect(pushdown.conditions({ id: -0 })).toBeUndefined();
    expect(pushdown.conditions({ id: Number.NaN })).toBeUndefined();
    expect(pushdown.conditions({ id: '\uD800' })).toBeUndefined();
    expect(pushdown.conditions({ id: ['x'] })).toBeUndefined();
  });

  it('sorts in the backend only on plain fields without a default', () => {
    expect(pushdown.sortable('id')).toBe(true);
    expect(pushdown.sortable('kind')).toBe(true);
    expect(pushdown.sortable('status')).toBe(false);
    expect(pushdown.sortable('count')).toBe(false);
    expect(createQueryPushdown(z.string()).sortable('id')).toBe(true);
    expect(createQueryPushdown(z.string()).conditions({ id: 'x' } as never)).toBeUndefined();
  });
});
