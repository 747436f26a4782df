import { createServer, type RequestListener, type Server } from 'node:http';
import type { ServerLimits } from './server-limits.js';

/**
 * Applies the connection limits of `limits` to a Node HTTP server: the whole request (a slow body
 * included) must arrive within `requestTimeoutMs`, headers within `headersTimeoutMs`, idle
 * keep-alive connections close after `keepAliveTimeoutMs`, and at most `maxConnections` are open.
 * `createServer` calls it; an Express host calls it on the server its `app.listen` returns.
 */
export function applyConnectionLimits(server: Server, limits: ServerLimits): void {
  server.requestTimeout = limits.requestTimeoutMs;
  // Node requires headersTimeout <= requestTimeout when the latter is set.
  server.headersTimeout =
    limits.requestTimeoutMs > 0
      ? Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs)
      : limits.headersTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
}

/**
 * A Node HTTP server that enforces `limits` promptly: Node checks request timeouts every
 * `connectionsCheckingInterval` ms (30 s by default), so a short `requestTimeoutMs` would otherwise
 * only bite at the next check. The interval is a quarter of the timeout, between 1 and 30 s.
 */
export function createLimitedHttpServer(limits: ServerLimits, handler?: RequestListener): Server {
  const interval =
    limits.requestTimeoutMs > 0
      ? Math.min(30_000, Math.max(250, Math.floor(limits.requestTimeoutMs / 4)))
      : 30_000;
  const server = createServer({ connectionsCheckingInterval: interval }, handler);
  applyConnectionLimits(server, limits);
  return server;
}
