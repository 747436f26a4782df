import { configure } from 'safe-stable-stringify';

const stringify = configure({ bigint: true, deterministic: true, circularValue: Error });

/**
 * The canonical JSON text of a row: keys sorted at every level, no whitespace. Two rows with the
 * same content have the same text, whatever their key order, so version hashes and duplicate
 * detection do not depend on how the source wrote them.
 */
export function canonicalRow(row: unknown): string {
  return stringify(row) as string;
}
