import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  findPostgresBinaries,
  POSTGRES_SERVER_MISSING_REASON,
  type PostgresTestServer,
  startPostgresServer,
} from '../testing/start-postgres-server.js';
import type { Collection } from './collection.js';
import { createStorage } from './create-storage.js';
import { createKeyMutex } from './key-mutex.js';
import { createKeyvCollection } from './keyv-collection.js';
import { createSqlBackend, type SqlBackendOptions } from './sql-backend.js';

const JobSchema = z.object({
  id: z.string(),
  status: z.enum(['queued', 'running', 'done']),
  owner: z.string(),
  createdAt: z.string(),
  tags: z.array(z.string()).default([]),
  version: z.number().int().optional(),
});
type Job = z.infer<typeof JobSchema>;

type QueryFunction = (sql: string, ...rest: unknown[]) => Promise<Array<Record<string, unknown>>>;

/**
 * A collection of `count` jobs with indexes on `owner` and `createdAt`, and a log of the statements
 * its backend runs (the backend reads the adapter's `query` at each call).
 */
async function indexedJobs(options: SqlBackendOptions, count: number) {
  const backend = await createSqlBackend(options);
  const store = backend.keyv.store as { query: QueryFunction };
  const run = store.query.bind(store);
  const statements: Array<{ sql: string; parameters: unknown[] }> = [];
  store.query = (sql, ...rest) => {
    statements.push({
      sql,
      parameters: options.dialect === 'sqlite' ? rest : ((rest[0] as unknown[]) ?? []),
    });
    return run(sql, ...rest);
  };
  const name = `jobs_${Math.random().toString(36).slice(2, 8)}`;
  const jobs: Collection<Job> = createKeyvCollection({
    backend,
    name,
    schema: JobSchema,
    mutex: createKeyMutex(),
    indexes: ['owner', 'createdAt'],
  });
  for (let start = 0; start < count; start += 200) {
    await Promise.all(
      Array.from({ length: Math.min(200, count - start) }, (_, offset) => {
        const index = start + offset;
        return jobs.set({
          id: `job-${String(index).padStart(5, '0')}`,
          status: (['queued', 'running', 'done'] as const)[index % 3] as Job['status'],
          owner: `user-${index % 100}`,
          createdAt: new Date(Date.UTC(2024, 0, 1) + ((index * 7919) % count) * 1000).toISOString(),
          tags: [],
        });
      }),
    );
  }
  /** The plan of the last statement that read the collection's records. */
  const planOfLastQuery = async () => {
    const last = statements
      .filter((statement) => statement.sql.includes(' LIMIT ') || statement.sql.includes('COUNT(*)'))
      .at(-1);
    if (last === undefined) {
      throw new Error('no query ran');
    }
    const explain = options.dialect === 'sqlite' ? 'EXPLAIN QUERY PLAN ' : 'EXPLAIN ';
    const rows =
      options.dialect === 'sqlite'
        ? await run(`${explain}${last.sql}`, ...last.parameters)
        : await run(`${explain}${last.sql}`, last.parameters);
    return rows.map((row) => String(row.detail ?? row['QUERY PLAN'])).join('\n');
  };
  return { backend, jobs, name, run, planOfLastQuery };
}

function describeIndexes(label: string, options: () => SqlBackendOptions, skipReason?: string) {
  const suffix = skipReason === undefined ? '' : ` (skipped: ${skipReason})`;
  describe(`declared indexes on ${label}${suffix}`, () => {
    it.skipIf(skipReason !== undefined)(
      'serve exact filters, sorts and cursors on their field (the plan names the index)',
      async () => {
        const { backend, jobs, name, run, planOfLastQuery } = await indexedJobs(options(), 3000);
        try {
          await run('ANALYZE tunekit', []);
          const ownerIndex = new RegExp(`${name}_owner_`);
          const createdIndex = new RegExp(`${name}_createdAt_`);

          const byOwner = await jobs.list({ filter: { owner: 'user-7' }, limit: 10 });
          expect(byOwner.items.map((job) => job.id)).toEqual(
            Array.from({ length: 10 }, (_, index) => `job-${String(7 + index * 100).padStart(5, '0')}`),
          );
          const ownerPlan = await planOfLastQuery();
          expect(ownerPlan).toMatch(ownerIndex);
          if (options().dialect === 'postgres') {
            // The check for rows the indexes skip reads the partial index of those rows only.
            expect(ownerPlan).toMatch(/tunekit_unindexable/);
            expect(ownerPlan).not.toMatch(/Seq Scan/);
          }

          expect(await jobs.count({ owner: 'user-7' })).toBe(30);
          expect(await planOfLastQuery()).toMatch(ownerIndex);

          const newest = await jobs.list({ sort: { field: 'createdAt', direction: 'desc' }, limit: 20 });
          expect(newest.items[0]?.createdAt).toBe(new Date(Date.UTC(2024, 0, 1) + 2999 * 1000).toISOString());
          expect(await planOfLastQuery()).toMatch(createdIndex);

          const next = await jobs.list({
            sort: { field: 'createdAt', direction: 'desc' },
            limit: 20,
            cursor: newest.nextCursor,
          });
          expect(next.items[0]?.createdAt).toBe(new Date(Date.UTC(2024, 0, 1) + 2979 * 1000).toISOString());
          expect(await planOfLastQuery()).toMatch(createdIndex);
        } finally {
          await backend.close();
        }
      },
      60_000,
    );

    it.skipIf(skipReason !== undefined)(
      'are made once: a second declaration of the same indexes is a no-op',
      async () => {
        const storage = await createStorage(
          options().dialect === 'sqlite'
            ? { driver: 'sqlite', path: (options() as { path: string }).path }
            : { driver: 'postgres', uri: (options() as { uri: string }).uri },
        );
        try {
          for (let round = 0; round < 2; round += 1) {
            const jobs = storage.collection('indexed_twice', JobSchema, { indexes: ['owner', 'status'] });
            await jobs.set({ id: `j${round}`, status: 'queued', owner: 'ada', createdAt: '2024', tags: [] });
            expect(await jobs.count({ owner: 'ada' })).toBe(round + 1);
          }
        } finally {
          await storage.close();
        }
      },
      60_000,
    );
  });
}

const directory = await mkdtemp(join(tmpdir(), 'tunekit-indexes-'));
afterAll(() => rm(directory, { recursive: true, force: true }));
describeIndexes('SQLite', () => ({ dialect: 'sqlite', path: join(directory, 'indexes.sqlite') }));

const postgresAvailable = findPostgresBinaries() !== undefined;
let postgres: PostgresTestServer | undefined;
beforeAll(async () => {
  if (postgresAvailable) {
    postgres = await startPostgresServer();
  }
}, 60_000);
afterAll(() => postgres?.stop());
describeIndexes(
  'PostgreSQL',
  () => ({ dialect: 'postgres', uri: (postgres as PostgresTestServer).uri }),
  postgresAvailable ? undefined : POSTGRES_SERVER_MISSING_REASON,
);

describe('declared indexes', () => {
  it('must name plain primitive fields of the schema, on every backend', async () => {
    const storage = await createStorage({ driver: 'memory' });
    expect(() =>
      storage.collection('bad', JobSchema, { indexes: ['tags'] as unknown as Array<keyof Job & string> }),
    ).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED', message: expect.stringContaining('"tags"') }),
    );
    expect(() =>
      storage.collection('bad', JobSchema, { indexes: ['missing'] as unknown as Array<keyof Job & string> }),
    ).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    // The memory backend has no indexes: the option is accepted and ignored.
    const jobs = storage.collection('jobs', JobSchema, { indexes: ['status', 'createdAt'] });
    await jobs.set({ id: 'a', status: 'done', owner: 'ada', createdAt: '2024', tags: [] });
    expect(await jobs.count({ status: 'done' })).toBe(1);
    await storage.close();
  });
});
