import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeStorageCompliance } from '../testing/describe-storage-compliance.js';
import { createStorage } from './create-storage.js';

const directory = await mkdtemp(join(tmpdir(), 'tunekit-sqlite-'));
const path = join(directory, 'nested', 'tunekit.sqlite');
afterAll(() => rm(directory, { recursive: true, force: true }));

describeStorageCompliance('sqlite', () => createStorage({ driver: 'sqlite', path }), { persistent: true });

describe('sqlite storage', () => {
  it('keeps records in the named table of the file', async () => {
    const file = join(directory, 'custom.sqlite');
    const storage = await createStorage({ driver: 'sqlite', path: file, table: 'records_v1' });
    await storage.collection('things', z.object({ id: z.string() })).set({ id: 'a' });
    await storage.close();
    const sqlite3 = (await import('sqlite3')).default;
    const rows = await new Promise<Array<{ key: string }>>((resolveRows, reject) => {
      const database = new sqlite3.Database(file);
      database.all('SELECT key FROM records_v1', (error: Error | null, result: Array<{ key: string }>) => {
        database.close();
        return error ? reject(error) : resolveRows(result);
      });
    });
    expect(rows.map((row) => row.key)).toEqual(['tunekit:things:a']);
  });

  it('opens the file in WAL mode, so two storages on one file write concurrently without SQLITE_BUSY', async () => {
    const file = join(directory, 'shared.sqlite');
    const first = await createStorage({ driver: 'sqlite', path: file });
    const second = await createStorage({ driver: 'sqlite', path: file });
    const schema = z.object({ id: z.string(), count: z.number(), version: z.number().optional() });
    const firstCounters = first.collection('counters', schema);
    const secondCounters = second.collection('counters', schema);
    await firstCounters.set({ id: 'c', count: 0 });
    const increment = (counters: typeof firstCounters) =>
      counters
        .update('c', (current) => ({ ...current, count: current.count + 1 }))
        .then(
          () => true,
          (error: { code?: string }) => {
            if (error.code !== 'CONFLICT') throw error;
            return false;
          },
        );
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, index) => increment(index % 2 === 0 ? firstCounters : secondCounters)),
    );
    await Promise.all(
      Array.from({ length: 40 }, (_, index) =>
        (index % 2 === 0 ? firstCounters : secondCounters).set({ id: `k${index}`, count: index }),
      ),
    );
    // Compare-and-set across connections: every successful update counted exactly once.
    const succeeded = outcomes.filter(Boolean).length;
    expect(succeeded).toBeGreaterThan(0);
    expect((await secondCounters.get('c'))?.count).toBe(succeeded);
    expect(await firstCounters.count()).toBe(41);
    await first.close();
    await second.close();
    const sqlite3 = (await import('sqlite3')).default;
    const mode = await new Promise<string>((resolveMode, reject) => {
      const database = new sqlite3.Database(file);
      database.get('PRAGMA journal_mode', (error: Error | null, row: { journal_mode: string }) => {
        database.close();
        return error ? reject(error) : resolveMode(row.journal_mode);
      });
    });
    expect(mode).toBe('wal');
  });

  it('update still compares by value when the stored text is not keyv serialization of it', async () => {
    const file = join(directory, 'foreign-text.sqlite');
    const storage = await createStorage({ driver: 'sqlite', path: file });
    const things = storage.collection('things', z.object({ id: z.string(), n: z.number() }));
    await things.set({ id: 'a', n: 1 });
    await storage.close();
    // Same value, different text (spaces, key order): the one-statement fast path cannot match it.
    const sqlite3 = (await import('sqlite3')).default;
    await new Promise<void>((resolveRun, reject) => {
      const database = new sqlite3.Database(file);
      database.run(
        'UPDATE tunekit SET value = ? WHERE key = ?',
        ['{ "value": { "n": 1, "id": "a" } }', 'tunekit:things:a'],
        (error: Error | null) => {
          database.close();
          return error ? reject(error) : resolveRun();
        },
      );
    });
    const reopened = await createStorage({ driver: 'sqlite', path: file });
    const again = reopened.collection('things', z.object({ id: z.string(), n: z.number() }));
    await expect(again.update('a', (current) => ({ ...current, n: current.n + 1 }))).resolves.toMatchObject({
      n: 2,
      version: 1,
    });
    expect(await again.get('a')).toMatchObject({ n: 2, version: 1 });
    await reopened.close();
  });

  it('reports an unopenable file as STORAGE_FAILED', async () => {
    await expect(
      createStorage({ driver: 'sqlite', path: join(directory, 'missing-dir-is-a-file', 'x.sqlite', 'y') }),
    ).resolves.toBeDefined();
    await expect(createStorage({ driver: 'sqlite', path: '/proc/tunekit.sqlite' })).rejects.toMatchObject({
      code: 'STORAGE_FAILED',
    });
  });
});
