/**
 * Collection queries over 100k records: `npx tsx bench/storage-queries.ts` prints one JSON line per
 * figure — a page of 50 with an exact filter, a count with a filter, a page of 50 sorted by a field
 * (first page and a later one through its cursor) — each twice: `path: 'in-process'` reads every
 * record and filters/sorts/pages in JavaScript (what every backend did before SQL pushdown, and
 * what Redis and memory still do), `path: 'sql'` is the same collection with the query evaluated by
 * the database. Backends: a SQLite file (always) and PostgreSQL (when its binaries are installed,
 * or with `BENCH_POSTGRES=0` to skip). `BENCH_RECORDS` changes the record count (default 100000).
 * Then the same queries on a collection declaring indexes on `owner`, `status`, `createdAt` and
 * `score` (`path: 'sql-indexed'`, SQL only).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Collection,
  type CollectionQuery,
  createKeyMutex,
  createKeyvCollection,
  createSqlBackend,
  type SqlBackendOptions,
  type StorageBackend,
} from '@tunekit/core';
import { findPostgresBinaries, startPostgresServer } from '@tunekit/core/testing';
import { z } from 'zod';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 100_000);
const directory = await mkdtemp(join(tmpdir(), 'tunekit-bench-queries-'));

const JobSchema = z.object({
  id: z.string(),
  name: z.string(),
  status: z.enum(['queued', 'running', 'succeeded', 'failed']),
  owner: z.string(),
  score: z.number(),
  createdAt: z.string(),
  tags: z.array(z.string()),
  version: z.number().int().optional(),
});
type Job = z.infer<typeof JobSchema>;
const statuses = ['queued', 'running', 'succeeded', 'failed'] as const;

/** Mean milliseconds per call over `calls` calls (after one warm-up call). */
async function time(calls: number, task: () => Promise<unknown>): Promise<number> {
  await task();
  const started = performance.now();
  for (let call = 0; call < calls; call += 1) {
    await task();
  }
  return (performance.now() - started) / calls;
}

async function fill(collection: Collection<Job>): Promise<void> {
  const start = Date.parse('2024-01-01T00:00:00Z');
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < RECORDS) {
        const index = next;
        next += 1;
        await collection.set({
          id: `job-${String(index).padStart(6, '0')}`,
          name: `job ${index}`,
          status: statuses[index % 4] as Job['status'],
          owner: `user-${index % 100}`,
          score: (index * 7919) % 10007,
          createdAt: new Date(start + ((index * 7919) % RECORDS) * 1000).toISOString(),
          tags: ['bench'],
        });
      }
    }),
  );
}

async function run(backendName: string, options: SqlBackendOptions, indexes: string[] = []): Promise<void> {
  const backend = await createSqlBackend(options);
  const mutex = createKeyMutex();
  const name = indexes.length === 0 ? 'jobs' : 'jobs_indexed';
  const sql = createKeyvCollection({ backend, name, schema: JobSchema, mutex, indexes });
  // The same records through a backend without `select`/`count`: the in-process path.
  const scanOnly: StorageBackend = { ...backend, select: undefined, count: undefined };
  const inProcess = createKeyvCollection({ backend: scanOnly, name, schema: JobSchema, mutex });
  const filled = performance.now();
  await fill(sql);
  const fillSeconds = (performance.now() - filled) / 1000;
  const later = (await sql.list({ sort: { field: 'createdAt', direction: 'desc' }, limit: 50 })).nextCursor;
  const figures: Array<[string, (collection: Collection<Job>) => Promise<unknown>]> = [
    [
      'list-filter-page-50',
      // user-42's records are all 'succeeded': no match, so SQL reads every row of the collection.
      (collection) => collection.list({ filter: { owner: 'user-42', status: 'failed' } }),
    ],
    ['list-filter-status-page-50', (collection) => collection.list({ filter: { status: 'failed' } })],
    ['count-filter', (collection) => collection.count({ status: 'failed' })],
    ['count-all', (collection) => collection.count()],
    [
      'list-sorted-page-50',
      (collection) => collection.list({ sort: { field: 'createdAt', direction: 'desc' }, limit: 50 }),
    ],
    [
      'list-sorted-next-page-50',
      (collection) =>
        collection.list({ sort: { field: 'createdAt', direction: 'desc' }, limit: 50, cursor: later }),
    ],
    [
      'list-filter-sorted-page-50',
      (collection) =>
        collection.list({
          filter: { status: 'queued' } as CollectionQuery<Job>['filter'],
          sort: { field: 'score' },
          limit: 50,
        }),
    ],
  ];
  for (const [benchmark, query] of figures) {
    // Same answer both ways, or the figure means nothing.
    if (JSON.stringify(await query(sql)) !== JSON.stringify(await query(inProcess))) {
      throw new Error(`${benchmark}: SQL and in-process results differ`);
    }
    const paths =
      indexes.length === 0
        ? ([
            ['in-process', inProcess, 3],
            ['sql', sql, 20],
          ] as const)
        : ([['sql-indexed', sql, 20]] as const);
    for (const [path, collection, calls] of paths) {
      const meanMs = await time(calls, () => query(collection));
      console.log(
        JSON.stringify({
          benchmark,
          backend: backendName,
          path,
          records: RECORDS,
          calls,
          meanMs: Number(meanMs.toFixed(2)),
          fillSeconds: Number(fillSeconds.toFixed(1)),
          node: process.version,
        }),
      );
    }
  }
  await backend.close();
}

const indexes = ['owner', 'status', 'createdAt', 'score'];
await run('sqlite', { dialect: 'sqlite', path: join(directory, 'queries.sqlite') });
await run('sqlite', { dialect: 'sqlite', path: join(directory, 'queries.sqlite') }, indexes);
const postgres =
  process.env.BENCH_POSTGRES !== '0' && findPostgresBinaries() !== undefined
    ? await startPostgresServer()
    : undefined;
if (postgres) {
  try {
    await run('postgres', { dialect: 'postgres', uri: postgres.uri });
    await run('postgres', { dialect: 'postgres', uri: postgres.uri }, indexes);
  } finally {
    await postgres.stop();
  }
}
await rm(directory, { recursive: true, force: true });
