import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import { TunekitError } from '../errors/tunekit-error.js';
import type { Collection } from '../storage/collection.js';
import type { ComplianceRecordSchema } from './describe-storage-compliance.js';

/** What the suite passes to `set` before defaults apply. */
export type ComplianceInput = z.input<typeof ComplianceRecordSchema>;

/** The `TunekitError` a promise rejects with (fails the test when it resolves or throws something else). */
export async function caught(promise: Promise<unknown>): Promise<TunekitError> {
  try {
    await promise;
  } catch (error) {
    if (TunekitError.isInstance(error)) {
      return error;
    }
    throw error;
  }
  throw new Error('expected the operation to throw a TunekitError');
}

/** A collection name unique to this test (tests may share one server). */
export function uniqueName(label: string): string {
  return `${label}_${randomBytes(4).toString('hex')}`;
}

/** Every item of a listing, page by page. */
export async function pageThrough<T extends { id: string }>(
  collection: Collection<T>,
  query: Parameters<Collection<T>['list']>[0] = {},
): Promise<T[]> {
  const items: T[] = [];
  let cursor = query.cursor;
  for (let pages = 0; pages < 1000; pages += 1) {
    const page = await collection.list({ ...query, cursor });
    items.push(...page.items);
    if (page.nextCursor === undefined) {
      return items;
    }
    cursor = page.nextCursor;
  }
  throw new Error('pagination did not terminate');
}
