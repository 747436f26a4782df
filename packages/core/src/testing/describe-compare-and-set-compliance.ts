import { describe, expect } from 'vitest';
import type { Collection, Storage } from '../storage/collection.js';
import { caught, pageThrough, uniqueName } from './compliance-helpers.js';
import { type ComplianceRecord, ComplianceRecordSchema } from './describe-storage-compliance.js';

/** What the compare-and-set part of the storage compliance suite gets from the suite. */
export interface CompareAndSetComplianceHarness {
  /** Declares a test, skipped (with the reason in its name) when not `enabled`. */
  test: (title: string, body: () => Promise<void>, enabled?: boolean, reason?: string) => void;
  /** Opens a storage that the suite closes after the test. */
  open: () => Promise<Storage>;
  /** Opens a collection with a unique name in a fresh storage. */
  openCollection: (label?: string) => Promise<Collection<ComplianceRecord>>;
  /** Whether compare-and-set and insert-if-absent are atomic across instances. */
  atomic: boolean;
  /** Whether storages from successive factory calls share state. */
  persistent: boolean;
}

/**
 * The compare-and-set part of the storage compliance suite (`update` on `version`, and `create`,
 * insert-if-absent): updater semantics, validation, conflicts, concurrency in one instance and
 * across instances. Called by
 * `describeStorageCompliance` inside its describe block.
 */
export function describeCompareAndSetCompliance(harness: CompareAndSetComplianceHarness): void {
  const { test, open, openCollection, atomic, persistent } = harness;
  describe('update (compare-and-set on version)', () => {
    test('update applies the updater, validates, and increments the version', async () => {
      const records = await openCollection();
      await records.set({ id: 'a', name: 'Alpha', group: 'red', tags: [] });
      const first = await records.update('a', (current) => ({ ...current, name: 'Beta' }));
      expect(first).toMatchObject({ name: 'Beta', version: 1 });
      const second = await records.update('a', async (current) => ({ ...current, tags: ['t'] }));
      expect(second).toMatchObject({ name: 'Beta', tags: ['t'], version: 2 });
      expect(await records.require('a')).toEqual(second);
    });

    test('update of a missing record throws NOT_FOUND', async () => {
      const records = await openCollection();
      expect((await caught(records.update('missing', (current) => current))).code).toBe('NOT_FOUND');
    });

    test('an invalid update or a thrown updater leaves the record unchanged', async () => {
      const records = await openCollection();
      await records.set({ id: 'a', name: 'Alpha', group: 'red', tags: [] });
      const error = await caught(records.update('a', (current) => ({ ...current, name: '' })));
      expect(error.code).toBe('VALIDATION_FAILED');
      await expect(
        records.update('a', () => {
          throw new Error('updater failed');
        }),
      ).rejects.toThrow('updater failed');
      const renamed = await caught(records.update('a', (current) => ({ ...current, id: 'b' })));
      expect(renamed.code).toBe('VALIDATION_FAILED');
      expect(await records.require('a')).toEqual({ id: 'a', name: 'Alpha', group: 'red', tags: [] });
      expect(await records.get('b')).toBeUndefined();
    });

    test('concurrent updates in one process are serialized: none is lost', async () => {
      const records = await openCollection();
      await records.set({ id: 'counter', name: 'counter', rank: 0, group: 'red', tags: [] });
      await Promise.all(
        Array.from({ length: 25 }, () =>
          records.update('counter', async (current) => {
            await new Promise((resolveWait) => setTimeout(resolveWait, 1));
            return { ...current, rank: (current.rank ?? 0) + 1 };
          }),
        ),
      );
      expect(await records.require('counter')).toMatchObject({ rank: 25, version: 25 });
    });

    test('concurrent sets of distinct records are all listed', async () => {
      const records = await openCollection();
      await Promise.all(
        Array.from({ length: 40 }, (_, index) =>
          records.set({ id: `c${String(index).padStart(2, '0')}`, name: 'n', group: 'red', tags: [] }),
        ),
      );
      expect(await records.count()).toBe(40);
      expect((await pageThrough(records, { limit: 7 })).map((record) => record.id)).toHaveLength(40);
    });

    test('create inserts a new record and refuses an existing id with CONFLICT, changing nothing', async () => {
      const records = await openCollection();
      expect(await records.create({ id: 'a', name: 'Alpha', group: 'red', tags: [] })).toEqual({
        id: 'a',
        name: 'Alpha',
        group: 'red',
        tags: [],
      });
      const error = await caught(records.create({ id: 'a', name: 'Other', group: 'blue', tags: [] }));
      expect(error.code).toBe('CONFLICT');
      expect(error.status).toBe(409);
      expect(await records.require('a')).toEqual({ id: 'a', name: 'Alpha', group: 'red', tags: [] });
      expect((await caught(records.create({ id: 'b', name: '', group: 'red', tags: [] }))).code).toBe(
        'VALIDATION_FAILED',
      );
      expect(await records.get('b')).toBeUndefined();
      expect((await pageThrough(records, { limit: 10 })).map((record) => record.id)).toEqual(['a']);
    });

    test('concurrent creates of one id in one process: exactly one wins', async () => {
      const records = await openCollection();
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, index) =>
          records.create({ id: 'only', name: `writer-${index}`, group: 'red', tags: [] }),
        ),
      );
      const won = results.filter((result) => result.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const result of results.filter((entry) => entry.status === 'rejected')) {
        expect((result as PromiseRejectedResult).reason).toMatchObject({ code: 'CONFLICT' });
      }
      const winner = (won[0] as PromiseFulfilledResult<ComplianceRecord>).value;
      expect(await records.require('only')).toEqual(winner);
    });

    test(
      'racing creates of one id from two instances: exactly one wins, the other gets CONFLICT',
      async () => {
        const first = await open();
        const second = await open();
        const name = uniqueName('create');
        const left = first.collection(name, ComplianceRecordSchema);
        const right = second.collection(name, ComplianceRecordSchema);
        for (let round = 0; round < 5; round += 1) {
          const id = `r${round}`;
          const results = await Promise.allSettled([
            left.create({ id, name: 'left', group: 'red', tags: [] }),
            right.create({ id, name: 'right', group: 'blue', tags: [] }),
          ]);
          const won = results.filter((result) => result.status === 'fulfilled');
          const lost = results.filter((result) => result.status === 'rejected');
          expect(won).toHaveLength(1);
          expect(lost).toHaveLength(1);
          expect((lost[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'CONFLICT' });
          const winner = (won[0] as PromiseFulfilledResult<ComplianceRecord>).value;
          expect(await left.require(id)).toEqual(winner);
          expect(await right.require(id)).toEqual(winner);
        }
      },
      atomic,
      persistent ? 'insert-if-absent is not atomic across instances' : 'storages do not share state',
    );

    test(
      'a record changed by another instance during an update fails with CONFLICT',
      async () => {
        const first = await open();
        const second = await open();
        const name = uniqueName('cas');
        const left = first.collection(name, ComplianceRecordSchema);
        const right = second.collection(name, ComplianceRecordSchema);
        await left.set({ id: 'a', name: 'Alpha', group: 'red', tags: [] });
        const error = await caught(
          left.update('a', async (current) => {
            // Another process wins the race while this updater runs.
            await right.update('a', (theirs) => ({ ...theirs, name: 'Theirs' }));
            return { ...current, name: 'Mine' };
          }),
        );
        expect(error.code).toBe('CONFLICT');
        expect(error.status).toBe(409);
        expect(await left.require('a')).toMatchObject({ name: 'Theirs', version: 1 });
      },
      persistent,
      'storages of this backend do not share state',
    );

    test(
      'racing updates from two instances: exactly one wins, the other gets CONFLICT',
      async () => {
        const first = await open();
        const second = await open();
        const name = uniqueName('race');
        const left = first.collection(name, ComplianceRecordSchema);
        const right = second.collection(name, ComplianceRecordSchema);
        await left.set({ id: 'a', name: 'Alpha', rank: 0, group: 'red', tags: [] });
        for (let round = 0; round < 5; round += 1) {
          let arrived = 0;
          let release: () => void = () => undefined;
          const barrier = new Promise<void>((resolveBarrier) => {
            release = resolveBarrier;
          });
          const racer = (collection: Collection<ComplianceRecord>) =>
            collection.update('a', async (current) => {
              arrived += 1;
              if (arrived === 2) {
                release();
              }
              await barrier;
              return { ...current, rank: (current.rank ?? 0) + 1 };
            });
          const results = await Promise.allSettled([racer(left), racer(right)]);
          const won = results.filter((result) => result.status === 'fulfilled');
          const lost = results.filter((result) => result.status === 'rejected');
          expect(won).toHaveLength(1);
          expect(lost).toHaveLength(1);
          expect((lost[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'CONFLICT' });
          expect(await left.require('a')).toMatchObject({ rank: round + 1, version: round + 1 });
        }
      },
      atomic,
      persistent ? 'compare-and-set is not atomic across instances' : 'storages do not share state',
    );
  });
}
