import type { AddressInfo } from 'node:net';
import type { Tunekit } from '@tunekit/core';
import Fastify, { type FastifyInstance } from 'fastify';
import { tunekitFastify } from '../fastify/tunekit-fastify.js';
import { createLimitedHttpServer } from './apply-connection-limits.js';
import { removeStaleTempFolders } from './remove-stale-temp-folders.js';
import { requestIdOf } from './request-id.js';
import { createServerContext, type ServerContext } from './server-context.js';
import type { TunekitServerOptions } from './server-options.js';

/** Options of {@link createServer}. */
export interface CreateServerOptions extends TunekitServerOptions {
  /** Mount prefix (default none). */
  prefix?: string;
  /** How long `close()` waits for in-flight requests before closing connections (default 10 000 ms). */
  shutdownTimeoutMs?: number;
  /** Also close the kit on `close()` (default false: the caller owns the kit). */
  closeKit?: boolean;
}

/** A standalone Tunekit server. */
export interface TunekitServer {
  readonly app: FastifyInstance;
  readonly context: ServerContext;
  /** Listens on `host:port` (defaults 127.0.0.1 and an ephemeral port); resolves with the base URL. */
  listen(options?: { host?: string; port?: number }): Promise<string>;
  /**
   * Graceful shutdown: `/ready` turns 503, new connections are refused, in-flight requests finish,
   * open SSE streams end, loaded models are released; running jobs are left to `kit.close()`, which
   * aborts them so they stay recoverable.
   */
  close(): Promise<void>;
}

/** Creates a standalone Fastify server with the Tunekit API. */
export async function createServer(kit: Tunekit, options: CreateServerOptions = {}): Promise<TunekitServer> {
  const { prefix, shutdownTimeoutMs = 10_000, closeKit = false, ...serverOptions } = options;
  // Temp folders (adapter copies, upload spools) left by a killed server process go first.
  await removeStaleTempFolders().then(
    (removed) => removed.length > 0 && kit.logger.info({ removed }, 'removed stale temp folders'),
    () => undefined,
  );
  const context = createServerContext(kit, serverOptions);
  const app = Fastify({
    genReqId: (request) => requestIdOf(request.headers),
    bodyLimit: context.bodyLimit,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // X-Forwarded-For is believed only from the configured proxies (limits.trustedProxies).
    trustProxy: context.limits.trustedProxies.length > 0 ? context.limits.trustedProxies : false,
    // Request, header and keep-alive timeouts and the connection cap of limits, checked promptly.
    serverFactory: (handler) => createLimitedHttpServer(context.limits, handler),
  });
  // Responses finished while draining close their connection, so shutdown does not wait for keep-alive timeouts.
  app.addHook('onSend', async (_request, reply) => {
    if (context.draining) reply.header('connection', 'close');
  });
  await app.register(tunekitFastify, { kit, prefix, context });
  let closing: Promise<void> | undefined;
  return {
    app,
    context,
    async listen(listenOptions = {}) {
      await app.listen({ host: listenOptions.host ?? '127.0.0.1', port: listenOptions.port ?? 0 });
      const address = app.server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return `http://${host}:${address.port}${prefix ?? ''}`;
    },
    close() {
      closing ??= (async () => {
        context.draining = true;
        for (const stream of context.streams) stream.abort();
        const timer = setTimeout(() => app.server.closeAllConnections?.(), shutdownTimeoutMs);
        try {
          await app.close();
        } finally {
          clearTimeout(timer);
          await context.close();
          if (closeKit) await kit.close();
        }
      })();
      return closing;
    },
  };
}
