import { createHash } from 'node:crypto';

/**
 * A compact key for exact-match sets (duplicates, leakage): the first 96 bits of the SHA-1 of the
 * text, base64. Sets of these stay small for millions of rows; a false match needs a 96-bit
 * collision.
 */
export function rowDigest(text: string): string {
  return createHash('sha1').update(text).digest('base64').slice(0, 16);
}
