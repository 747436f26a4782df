import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Tunekit } from '@tunekit/core';
import express from 'express';
import { tunekitExpress } from '../express/tunekit-express.js';
import { createLimitedHttpServer } from '../server/apply-connection-limits.js';
import { createServer } from '../server/create-server.js';
import type { ServerContext } from '../server/server-context.js';
import type { TunekitServerOptions } from '../server/server-options.js';

/** Which adapter serves the API. */
export type AdapterName = 'fastify' | 'express';

/** A server listening on 127.0.0.1 for tests and benchmarks. */
export interface RunningTestServer {
  /** Base URL including the mount prefix. */
  url: string;
  context: ServerContext;
  close(): Promise<void>;
}

/**
 * Starts the API on 127.0.0.1 (ephemeral port) with the Fastify adapter (`createServer`) or the
 * Express router mounted in an Express 5 app, both under `prefix` (default `/api`).
 */
export async function startTestServer(
  adapter: AdapterName,
  kit: Tunekit,
  options: TunekitServerOptions & { prefix?: string } = {},
): Promise<RunningTestServer> {
  const prefix = options.prefix ?? '/api';
  if (adapter === 'fastify') {
    const server = await createServer(kit, { ...options, prefix });
    const url = await server.listen();
    return { url, context: server.context, close: () => server.close() };
  }
  const app = express();
  app.disable('x-powered-by');
  const router = tunekitExpress(kit, options);
  const { trustedProxies } = router.tunekit.limits;
  app.set('trust proxy', trustedProxies.length > 0 ? trustedProxies : false);
  app.use(prefix, router);
  const server: Server = createLimitedHttpServer(router.tunekit.limits, app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    context: router.tunekit,
    async close() {
      router.tunekit.draining = true;
      for (const stream of router.tunekit.streams) stream.abort();
      server.closeIdleConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
      await router.tunekit.close();
    },
  };
}
