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

  it('reports an unopenable file as STORAGE_FAILED', async () => {
    await expect(
      createStorage({ driver: 'sqlite', path: join(directory, 'missing-dir-is-a-file', 'x.sqlite', 'y') }),
    ).resolves.toBeDefined();
    await expect(createStorage({ driver: 'sqlite', path: '/proc/tunekit.sqlite' })).rejects.toMatchObject({
      code: 'STORAGE_FAILED',
    });
  });
});
