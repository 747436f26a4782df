import type { Principal } from '@tunekit/core';
import { releasingWhenDone } from '../server/concurrency-limiter.js';
import type { ServerContext } from '../server/server-context.js';
import { eventStreamReply, isRouteReply } from './route-definition.js';

/**
 * Runs a generation while it holds a slot of `limits.generations` (per principal and in all; 429
 * `RATE_LIMITED` with `Retry-After` past the limit). The slot is taken before the model loads and
 * given back when `run` returns a JSON answer or fails, or, for a streamed answer, when its event
 * stream ends (finished, failed or the client left).
 */
export async function withGenerationSlot<T>(
  server: ServerContext,
  principal: Principal | undefined,
  run: () => Promise<T>,
): Promise<T> {
  const release = server.generationLimiter.acquire(principal?.id ?? 'anonymous');
  let streamed = false;
  try {
    const result = await run();
    if (isRouteReply(result) && result.kind === 'events') {
      streamed = true;
      return eventStreamReply(releasingWhenDone(result.events, release)) as T;
    }
    return result;
  } finally {
    if (!streamed) release();
  }
}
