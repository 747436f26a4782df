import type { DatasetRows } from './trainer.js';

/** Collects an array or async iterable of rows. */
export async function collectRows(rows: DatasetRows): Promise<unknown[]> {
  if (Array.isArray(rows)) return rows as unknown[];
  const collected: unknown[] = [];
  for await (const row of rows as AsyncIterable<unknown>) collected.push(row);
  return collected;
}

/** True when every row is a `{ text }` row (such datasets are packed by default). */
export function isTextOnly(rows: readonly unknown[]): boolean {
  return rows.every((row) => typeof row === 'object' && row !== null && 'text' in row);
}
