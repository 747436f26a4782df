import type { ServerResponse } from 'node:http';
import type { ServerSentEvent } from '../routes/route-definition.js';
import { formatServerSentEvent, problemResponse } from './handle-route.js';
import type { ServerContext } from './server-context.js';

/**
 * Writes a route's Server-Sent Events to a response whose headers are already sent: one frame per
 * event until the events end or `controller` aborts (client gone, server shutting down); a failure
 * becomes a last `error` frame carrying the problem document; the stream is registered in
 * `server.streams` while it is open, so shutdown can end it. Both framework adapters (Fastify's
 * `reply.raw`, Express's `response`) write their streams with it.
 */
export async function writeServerSentEvents(
  response: ServerResponse,
  events: AsyncIterable<ServerSentEvent>,
  server: ServerContext,
  controller: AbortController,
  requestId: string,
): Promise<void> {
  server.streams.add(controller);
  try {
    for await (const event of events) {
      if (controller.signal.aborted) break;
      response.write(formatServerSentEvent(event));
    }
  } catch (error) {
    const problem = JSON.parse((problemResponse(error, requestId) as { body: string }).body) as unknown;
    if (!response.writableEnded) response.write(formatServerSentEvent({ event: 'error', data: problem }));
  } finally {
    server.streams.delete(controller);
    response.end();
  }
}
