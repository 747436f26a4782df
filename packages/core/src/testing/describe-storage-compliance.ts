import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Collection, Storage } from '../storage/collection.js';
import { MAX_ID_LENGTH } from '../storage/keyv-collection.js';
import { type ComplianceInput, caught, pageThrough, uniqueName } from './compliance-helpers.js';
import { describeCompareAndSetCompliance } from './describe-compare-and-set-compliance.js';

/** Options of {@link describeStorageCompliance}. */
export interface StorageComplianceOptions {
  /**
   * True when storages returned by successive factory calls share state (a file, a server): the
   * suite then checks persistence across close/reopen and compare-and-set between two instances.
   * False for throwaway in-memory stores.
   */
  persistent: boolean;
  /**
   * True when the backend's compare-and-set and insert-if-absent are atomic across instances (SQL
   * `UPDATE … WHERE` and `INSERT … ON CONFLICT DO NOTHING`, a Redis script and `SET NX`). Stores
   * without an atomic primitive only serialize updates and creates in-process.
   * Defaults to `persistent`.
   */
  atomicCompareAndSet?: boolean;
  /** When set, every test is skipped and its name carries this reason (e.g. a missing server). */
  skipReason?: string;
}

/** The record shape the suite stores. */
export const ComplianceRecordSchema = z.object({
  id: z.string(),
  name: z.string().min(1),
  rank: z.number().int().optional(),
  group: z.enum(['red', 'green', 'blue']).default('red'),
  tags: z.array(z.string()).default([]),
  meta: z.object({ owner: z.string() }).optional(),
  flag: z.boolean().optional(),
  score: z.number().nullable().optional(),
  version: z.number().int().optional(),
});

/** A record of {@link ComplianceRecordSchema}. */
export type ComplianceRecord = z.infer<typeof ComplianceRecordSchema>;
/**
 * The storage compliance suite: every behaviour of `Storage`/`Collection` (validation, get/
 * require/set/delete, filters, sort, cursor pagination, count, compare-and-set updates, isolation
 * of collections, concurrency, persistence). Every built-in backend runs it; a third-party keyv
 * adapter runs it from its own test file:
 *
 * @example
 * ```ts
 * import { createStorage } from '@tunekit/core';
 * import { describeStorageCompliance } from '@tunekit/core/testing';
 *
 * describeStorageCompliance('mongo', () => createStorage({ keyv: new Keyv(new KeyvMongo(uri)) }), {
 *   persistent: true,
 *   atomicCompareAndSet: false,
 * });
 * ```
 *
 * @param name - backend name, shown in the test names.
 * @param openStorage - opens a storage; called once or more per test (each opened storage is
 * closed by the suite). Collections get unique names, so tests may share one server.
 * @param options - what the backend promises (default: not persistent, so the persistence and
 * cross-instance tests skip with that reason in their names).
 */
export function describeStorageCompliance(
  name: string,
  openStorage: () => Promise<Storage>,
  options: StorageComplianceOptions = { persistent: false },
): void {
  const skip = options.skipReason !== undefined;
  const suffix = skip ? ` (skipped: ${options.skipReason})` : '';
  const atomic = options.atomicCompareAndSet ?? options.persistent;
  const opened: Storage[] = [];
  const open = async () => {
    const storage = await openStorage();
    opened.push(storage);
    return storage;
  };
  const openCollection = async (label = 'records') =>
    (await open()).collection(uniqueName(label), ComplianceRecordSchema);
  const test = (title: string, body: () => Promise<void>, enabled = true, reason = '') =>
    it.skipIf(skip || !enabled)(`${title}${skip ? suffix : enabled ? '' : ` (skipped: ${reason})`}`, body);

  describe(`storage compliance: ${name}${suffix}`, () => {
    afterEach(async () => {
      const storages = opened.splice(0);
      await Promise.all(storages.map((storage) => storage.close()));
    });

    describe('records', () => {
      test('set returns the parsed record (defaults applied) and get reads it back', async () => {
        const records = await openCollection();
        const stored = await records.set({ id: 'a', name: 'Alpha' } as ComplianceInput as ComplianceRecord);
        expect(stored).toEqual({ id: 'a', name: 'Alpha', group: 'red', tags: [] });
        expect(await records.get('a')).toEqual(stored);
      });

      test('get of a missing id is undefined; require throws NOT_FOUND', async () => {
        const records = await openCollection();
        expect(await records.get('missing')).toBeUndefined();
        const error = await caught(records.require('missing'));
        expect(error.code).toBe('NOT_FOUND');
        expect(error.status).toBe(404);
      });

      test('set replaces an existing record', async () => {
        const records = await openCollection();
        await records.set({ id: 'a', name: 'Alpha', group: 'red', tags: ['x'] });
        await records.set({ id: 'a', name: 'Again', group: 'blue', tags: [] });
        expect(await records.require('a')).toEqual({ id: 'a', name: 'Again', group: 'blue', tags: [] });
        expect(await records.count()).toBe(1);
      });

      test('returned and stored records do not share mutable state', async () => {
        const records = await openCollection();
        const input: ComplianceRecord = { id: 'a', name: 'Alpha', group: 'red', tags: ['x'] };
        const stored = await records.set(input);
        input.tags.push('mutated-input');
        stored.tags.push('mutated-output');
        const read = await records.require('a');
        read.tags.push('mutated-read');
        expect((await records.require('a')).tags).toEqual(['x']);
      });

      test('delete removes a record and reports whether it existed', async () => {
        const records = await openCollection();
        await records.set({ id: 'a', name: 'Alpha', group: 'red', tags: [] });
        expect(await records.delete('a')).toBe(true);
        expect(await records.get('a')).toBeUndefined();
        expect(await records.delete('a')).toBe(false);
        expect(await records.count()).toBe(0);
      });

      test('ids with separators and unicode are stored verbatim', async () => {
        const records = await openCollection();
        const ids = ['a:b', 'a/b', 'x y', 'ünï-cødé', 'a%_*?[]'];
        for (const id of ids) {
          await records.set({ id, name: id, group: 'red', tags: [] });
        }
        for (const id of ids) {
          expect((await records.require(id)).name).toBe(id);
        }
        expect((await pageThrough(records)).map((record) => record.id).sort()).toEqual([...ids].sort());
      });
    });

    describe('limits', () => {
      test('the longest collection name with the longest id round-trips; a longer id is rejected', async () => {
        const storage = await open();
        const longName = uniqueName('x'.repeat(50 - 9));
        expect(longName).toHaveLength(50);
        const records = storage.collection(longName, ComplianceRecordSchema);
        const longId = 'i'.repeat(MAX_ID_LENGTH);
        await records.set({ id: longId, name: 'long', group: 'red', tags: [] });
        expect((await records.require(longId)).name).toBe('long');
        expect((await records.list()).items.map((record) => record.id)).toEqual([longId]);
        const error = await caught(
          records.set({ id: `${longId}i`, name: 'too long', group: 'red', tags: [] }),
        );
        expect(error.code).toBe('VALIDATION_FAILED');
      });
    });

    describe('validation', () => {
      test('set rejects a bad record with VALIDATION_FAILED naming every field, and stores nothing', async () => {
        const records = await openCollection();
        const error = await caught(
          records.set({
            id: 'bad',
            name: '',
            group: 'purple',
            tags: ['ok', 7],
          } as unknown as ComplianceRecord),
        );
        expect(error.code).toBe('VALIDATION_FAILED');
        expect(error.status).toBe(400);
        const paths = (error.details.issues as Array<{ path: string }>).map((issue) => issue.path).sort();
        expect(paths).toEqual(['group', 'name', 'tags.1']);
        expect(error.message).toMatch(/tags\.1/);
        expect(await records.get('bad')).toBeUndefined();
        expect(await records.count()).toBe(0);
      });

      test('a rejected replacement leaves the previous record intact', async () => {
        const records = await openCollection();
        await records.set({ id: 'a', name: 'Alpha', group: 'red', tags: [] });
        await caught(records.set({ id: 'a', name: '' } as ComplianceRecord));
        expect((await records.require('a')).name).toBe('Alpha');
      });

      test('ids must be non-empty strings', async () => {
        const records = await openCollection();
        expect((await caught(records.set({ id: '', name: 'x', group: 'red', tags: [] }))).code).toBe(
          'VALIDATION_FAILED',
        );
        expect((await caught(records.get(''))).code).toBe('VALIDATION_FAILED');
      });

      test('invalid limit, cursor and collection names are rejected', async () => {
        const storage = await open();
        const records = storage.collection(uniqueName('records'), ComplianceRecordSchema);
        expect((await caught(records.list({ limit: 0 }))).code).toBe('VALIDATION_FAILED');
        expect((await caught(records.list({ limit: 1.5 }))).code).toBe('VALIDATION_FAILED');
        expect((await caught(records.list({ cursor: 'not-a-cursor' }))).code).toBe('VALIDATION_FAILED');
        expect(() => storage.collection('bad name!', ComplianceRecordSchema)).toThrow(/collection name/);
        expect(() => storage.collection('', ComplianceRecordSchema)).toThrow(/collection name/);
      });
    });

    describe('listing', () => {
      const seed = async (records: Collection<ComplianceRecord>) => {
        const groups = ['red', 'green', 'blue'] as const;
        for (let index = 0; index < 12; index += 1) {
          await records.set({
            id: `r${String(index).padStart(2, '0')}`,
            name: `record ${index}`,
            rank: index % 4 === 3 ? undefined : (index * 7) % 5,
            group: groups[index % 3] as (typeof groups)[number],
            tags: index % 2 === 0 ? ['even'] : ['odd'],
            meta: { owner: index < 6 ? 'ada' : 'bob' },
          });
        }
      };

      test('list without a query returns everything sorted by id', async () => {
        const records = await openCollection();
        await seed(records);
        const page = await records.list();
        expect(page.items.map((record) => record.id)).toEqual(
          Array.from({ length: 12 }, (_, index) => `r${String(index).padStart(2, '0')}`),
        );
        expect(page.nextCursor).toBeUndefined();
      });

      test('exact-match filters on scalars, arrays and nested objects', async () => {
        const records = await openCollection();
        await seed(records);
        const ids = async (filter: Partial<ComplianceRecord>) =>
          (await records.list({ filter })).items.map((record) => record.id);
        expect(await ids({ group: 'green' })).toEqual(['r01', 'r04', 'r07', 'r10']);
        expect(await ids({ group: 'green', tags: ['odd'] })).toEqual(['r01', 'r07']);
        expect(await ids({ meta: { owner: 'bob' }, group: 'red' })).toEqual(['r06', 'r09']);
        expect(await ids({ group: 'blue', name: 'nope' })).toEqual([]);
        expect(await records.count({ meta: { owner: 'ada' } })).toBe(6);
      });

      test('predicate filters and count', async () => {
        const records = await openCollection();
        await seed(records);
        const page = await records.list({ filter: (record) => (record.rank ?? -1) >= 3 });
        expect(page.items.map((record) => record.id)).toEqual(['r02', 'r04', 'r09']);
        expect(await records.count((record) => record.tags.includes('even'))).toBe(6);
        expect(await records.count()).toBe(12);
      });

      test('sort by a field ascending and descending, ties by id, missing values last', async () => {
        const records = await openCollection();
        await seed(records);
        const ascending = (await records.list({ sort: { field: 'rank' } })).items;
        expect(ascending.map((record) => [record.rank, record.id])).toEqual([
          [0, 'r00'],
          [0, 'r05'],
          [0, 'r10'],
          [1, 'r08'],
          [2, 'r01'],
          [2, 'r06'],
          [3, 'r04'],
          [3, 'r09'],
          [4, 'r02'],
          [undefined, 'r03'],
          [undefined, 'r07'],
          [undefined, 'r11'],
        ]);
        const descending = (await records.list({ sort: { field: 'rank', direction: 'desc' } })).items;
        expect(descending.map((record) => record.id)).toEqual(ascending.map((record) => record.id).reverse());
        const byName = (await records.list({ sort: { field: 'name', direction: 'desc' }, limit: 3 })).items;
        expect(byName.map((record) => record.name)).toEqual(['record 9', 'record 8', 'record 7']);
      });

      test('cursor pagination visits every record once, in order, for any page size', async () => {
        const records = await openCollection();
        await seed(records);
        const all = (await records.list({ sort: { field: 'rank', direction: 'desc' } })).items.map(
          (record) => record.id,
        );
        for (const limit of [1, 5, 11, 12, 50]) {
          const paged = await pageThrough(records, { sort: { field: 'rank', direction: 'desc' }, limit });
          expect(paged.map((record) => record.id)).toEqual(all);
        }
        const first = await records.list({ limit: 5 });
        expect(first.items).toHaveLength(5);
        expect(typeof first.nextCursor).toBe('string');
        const filtered = await pageThrough(records, { filter: { group: 'red' }, limit: 2 });
        expect(filtered.map((record) => record.id)).toEqual(['r00', 'r03', 'r06', 'r09']);
      });

      test('pagination is stable while records are added and removed between pages', async () => {
        const records = await openCollection();
        await seed(records);
        const first = await records.list({ limit: 4 });
        expect(first.items.map((record) => record.id)).toEqual(['r00', 'r01', 'r02', 'r03']);
        await records.delete('r01');
        await records.delete('r05');
        await records.set({ id: 'r00a', name: 'inserted before the cursor', group: 'red', tags: [] });
        await records.set({ id: 'r06a', name: 'inserted after the cursor', group: 'red', tags: [] });
        const rest = await pageThrough(records, { limit: 4, cursor: first.nextCursor });
        expect(rest.map((record) => record.id)).toEqual([
          'r04',
          'r06',
          'r06a',
          'r07',
          'r08',
          'r09',
          'r10',
          'r11',
        ]);
      });

      test('a cursor only continues the sort it was issued for', async () => {
        const records = await openCollection();
        await seed(records);
        const first = await records.list({ limit: 2, sort: { field: 'rank' } });
        const error = await caught(records.list({ cursor: first.nextCursor, sort: { field: 'name' } }));
        expect(error.code).toBe('VALIDATION_FAILED');
      });

      test('exact filters compare types strictly: 1, "1" and true differ; null matches only null', async () => {
        const records = await openCollection();
        const base = { group: 'red' as const, tags: [] as string[] };
        await records.set({ ...base, id: 'one', name: '1', rank: 1, flag: true, score: 1 });
        await records.set({ ...base, id: 'zero', name: '0', rank: 0, flag: false, score: null });
        await records.set({ ...base, id: 'none', name: 'true' });
        const ids = async (filter: Partial<ComplianceRecord>) => ({
          listed: (await records.list({ filter })).items.map((record) => record.id),
          counted: await records.count(filter),
        });
        const loose = (filter: Record<string, unknown>) => ids(filter as Partial<ComplianceRecord>);
        expect(await ids({ rank: 1 })).toEqual({ listed: ['one'], counted: 1 });
        expect(await loose({ rank: '1' })).toEqual({ listed: [], counted: 0 });
        expect(await loose({ rank: true })).toEqual({ listed: [], counted: 0 });
        expect(await loose({ name: 1 })).toEqual({ listed: [], counted: 0 });
        expect(await loose({ name: true })).toEqual({ listed: [], counted: 0 });
        expect(await loose({ flag: 1 })).toEqual({ listed: [], counted: 0 });
        expect(await ids({ flag: false })).toEqual({ listed: ['zero'], counted: 1 });
        expect(await ids({ score: null })).toEqual({ listed: ['zero'], counted: 1 });
        expect(await loose({ rank: null })).toEqual({ listed: [], counted: 0 });
        expect(await ids({ rank: 0, flag: undefined })).toEqual({ listed: ['zero'], counted: 1 });
        expect(await loose({ rank: -0 })).toEqual({ listed: [], counted: 0 });
        expect(await loose({ unknown: 1 })).toEqual({ listed: [], counted: 0 });
        expect(await ids({ group: 'red' })).toEqual({ listed: ['none', 'one', 'zero'], counted: 3 });
      });

      test('text compares exactly: a leading ":", unicode, and JavaScript (UTF-16) order in sorts', async () => {
        const records = await openCollection();
        const names = [':x', '::x', 'x', 'é', '\uFF01', '😀', '\uE000', 'Z'];
        for (const [index, name] of names.entries()) {
          await records.set({ id: `n${index}`, name, rank: index % 2, group: 'red', tags: [] });
        }
        await records.set({ id: '😀', name: 'id', rank: 1, group: 'blue', tags: [] });
        await records.set({ id: '\uFF01', name: 'id', rank: 1, group: 'blue', tags: [] });
        expect((await records.list({ filter: { name: ':x' } })).items.map((record) => record.id)).toEqual([
          'n0',
        ]);
        expect(await records.count({ name: '::x' })).toBe(1);
        expect(await records.count({ name: '😀' })).toBe(1);
        const byName = [...names].sort();
        for (const limit of [1, 3, 50]) {
          const sorted = await pageThrough(records, {
            sort: { field: 'name' },
            limit,
            filter: { group: 'red' },
          });
          expect(sorted.map((record) => record.name)).toEqual(byName);
          const reversed = await pageThrough(records, { sort: { field: 'name', direction: 'desc' }, limit });
          expect(reversed.map((record) => record.name)).toEqual(['id', 'id', ...byName].sort().reverse());
          const ids = await pageThrough(records, { filter: { group: 'blue' }, limit });
          expect(ids.map((record) => record.id)).toEqual(['😀', '\uFF01']);
        }
      });

      test('filtered, sorted pages over numbers, booleans, nulls and missing values visit each match once', async () => {
        const records = await openCollection();
        const scores = [2.5, -1, null, undefined, 1e21, 0, 2.5, -1e-7, null, 3];
        for (const [index, score] of scores.entries()) {
          await records.set({
            id: `s${index}`,
            name: `n${index}`,
            group: index % 3 === 0 ? 'blue' : 'green',
            tags: [],
            ...(score === undefined ? {} : { score }),
            ...(index % 4 === 3 ? {} : { flag: index % 2 === 0 }),
          });
        }
        const green = ['s1', 's2', 's4', 's5', 's7', 's8'];
        expect(await records.count({ group: 'green' })).toBe(green.length);
        // -1, -1e-7, 0, 1e21, then null and missing (ties by id); descending is the exact reverse.
        const ascending = ['s1', 's7', 's5', 's4', 's2', 's8'];
        for (const direction of ['asc', 'desc'] as const) {
          for (const limit of [1, 2, 5]) {
            const paged = await pageThrough(records, {
              filter: { group: 'green' },
              sort: { field: 'score', direction },
              limit,
            });
            expect(paged.map((record) => record.id)).toEqual(
              direction === 'asc' ? ascending : [...ascending].reverse(),
            );
          }
        }
        const flags = await pageThrough(records, { sort: { field: 'flag' }, limit: 3 });
        expect(flags.map((record) => record.id)).toEqual([
          's1',
          's5',
          's9',
          's0',
          's2',
          's4',
          's6',
          's8',
          's3',
          's7',
        ]);
        expect(await records.count({ flag: true, group: 'blue' })).toBe(2);
      });

      test('collections do not see each other, even with prefix-sharing names', async () => {
        const storage = await open();
        const base = uniqueName('iso');
        const left = storage.collection(base, ComplianceRecordSchema);
        const right = storage.collection(`${base}_x`, ComplianceRecordSchema);
        const dashed = storage.collection(`${base}-x`, ComplianceRecordSchema);
        await left.set({ id: 'same', name: 'left', group: 'red', tags: [] });
        await right.set({ id: 'same', name: 'right', group: 'red', tags: [] });
        await right.set({ id: 'only-right', name: 'right', group: 'red', tags: [] });
        await dashed.set({ id: 'x', name: 'dashed', group: 'red', tags: [] });
        expect((await left.require('same')).name).toBe('left');
        expect((await right.require('same')).name).toBe('right');
        expect((await left.list()).items.map((record) => record.id)).toEqual(['same']);
        expect(await left.count()).toBe(1);
        expect(await right.count()).toBe(2);
        expect(await dashed.count()).toBe(1);
        expect(await left.get('only-right')).toBeUndefined();
        await left.delete('same');
        expect((await right.require('same')).name).toBe('right');
      });
    });

    describeCompareAndSetCompliance({ test, open, openCollection, atomic, persistent: options.persistent });

    describe('lifecycle', () => {
      test(
        'records persist across close and reopen',
        async () => {
          const name = uniqueName('persist');
          const first = await openStorage();
          const records = first.collection(name, ComplianceRecordSchema);
          await records.set({ id: 'a', name: 'Alpha', group: 'green', tags: ['kept'] });
          await records.update('a', (current) => ({ ...current, rank: 3 }));
          await first.close();
          const second = await open();
          const reopened = second.collection(name, ComplianceRecordSchema);
          expect(await reopened.require('a')).toEqual({
            id: 'a',
            name: 'Alpha',
            group: 'green',
            tags: ['kept'],
            rank: 3,
            version: 1,
          });
          expect(await reopened.count()).toBe(1);
        },
        options.persistent,
        'this backend does not persist',
      );

      test('close is idempotent', async () => {
        const storage = await openStorage();
        await storage.close();
        await storage.close();
      });
    });
  });
}
