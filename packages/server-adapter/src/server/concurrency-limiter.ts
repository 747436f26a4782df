import { tunekitError } from '@tunekit/core';

/** Counts what runs at once per principal and in all (streams, generations); one per server context. */
export interface ConcurrencyLimiter {
  /**
   * Takes a slot for `principal` and returns the function that gives it back (idempotent); throws
   * `RATE_LIMITED` (429, `retryAfterSeconds`) when the principal or the server is at its limit.
   */
  acquire(principal: string): () => void;
  /** Slots held now, in all and by one principal. */
  active(principal?: string): number;
}

/** Options of {@link createConcurrencyLimiter}. */
export interface ConcurrencyLimiterOptions {
  /** What is limited, for the error message (`event streams`, `generations`). */
  what: string;
  perUser: number;
  total: number;
  /** `Retry-After` of a refusal in seconds (default 5). */
  retryAfterSeconds?: number;
}

/** Creates a per-principal and global concurrency limit. */
export function createConcurrencyLimiter(options: ConcurrencyLimiterOptions): ConcurrencyLimiter {
  const held = new Map<string, number>();
  let total = 0;
  const retryAfterSeconds = options.retryAfterSeconds ?? 5;
  return {
    acquire(principal) {
      const mine = held.get(principal) ?? 0;
      if (mine >= options.perUser || total >= options.total) {
        const scope = mine >= options.perUser ? 'user' : 'server';
        throw tunekitError(
          'RATE_LIMITED',
          scope === 'user'
            ? `At most ${options.perUser} ${options.what} at once per user; retry when one ends`
            : `The server runs its maximum of ${options.total} ${options.what}; retry shortly`,
          {
            retryAfterSeconds,
            limit: scope === 'user' ? options.perUser : options.total,
            scope,
          },
        );
      }
      held.set(principal, mine + 1);
      total += 1;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        total -= 1;
        const left = (held.get(principal) ?? 1) - 1;
        if (left <= 0) held.delete(principal);
        else held.set(principal, left);
      };
    },
    active(principal) {
      return principal === undefined ? total : (held.get(principal) ?? 0);
    },
  };
}

/**
 * Wraps an async iterable so that `release` runs once when it ends, fails or its consumer stops
 * early (or never starts iterating and calls `return`).
 */
export async function* releasingWhenDone<T>(
  source: AsyncIterable<T>,
  release: () => void,
): AsyncGenerator<T> {
  try {
    yield* source;
  } finally {
    release();
  }
}
