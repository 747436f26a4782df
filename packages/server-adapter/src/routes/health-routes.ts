import { z } from 'zod';
import { defineRoute, jsonReply, textReply } from './route-definition.js';

/** `GET /`: service name and where the API description is. */
export const rootRoute = defineRoute({
  method: 'GET',
  path: '/',
  operationId: 'getRoot',
  summary: 'Service name, version and links',
  tag: 'health',
  access: 'public',
  response: z.object({ name: z.string(), version: z.string(), openapi: z.string(), health: z.string() }),
  handler: async ({ server }) => ({
    name: server.options.serviceName ?? 'tunekit',
    version: '0.1.0',
    openapi: 'openapi.json',
    health: 'health',
  }),
});

/** `GET /health`: liveness plus which models are loaded (`model_loaded`). */
export const healthRoute = defineRoute({
  method: 'GET',
  path: '/health',
  operationId: 'getHealth',
  summary: 'Health with model_loaded',
  tag: 'health',
  access: 'public',
  response: z.object({
    status: z.enum(['ok', 'draining']),
    model_loaded: z.boolean(),
    models_loaded: z.array(z.string()),
    uptime_seconds: z.number(),
  }),
  handler: async ({ server }) => {
    const loaded = server.models.loaded();
    return {
      status: server.draining ? ('draining' as const) : ('ok' as const),
      model_loaded: server.options.defaultModel
        ? loaded.includes(server.options.defaultModel)
        : loaded.length > 0,
      models_loaded: loaded,
      uptime_seconds: Math.round((Date.now() - server.startedAt) / 1000),
    };
  },
});

/** `GET /ready`: 200 when storage answers and the server is not shutting down, else 503. */
export const readyRoute = defineRoute({
  method: 'GET',
  path: '/ready',
  operationId: 'getReady',
  summary: 'Readiness (storage reachable, not draining)',
  tag: 'health',
  access: 'public',
  response: z.object({ status: z.enum(['ready', 'not_ready']), reason: z.string().optional() }),
  handler: async ({ server, kit }) => {
    if (server.draining) return jsonReply(503, { status: 'not_ready', reason: 'shutting down' });
    try {
      await server.ready;
      await kit.jobs.list({ limit: 1 });
      return { status: 'ready' as const };
    } catch (error) {
      return jsonReply(503, { status: 'not_ready', reason: (error as Error).message });
    }
  },
});

/** `GET /live`: the process answers. */
export const liveRoute = defineRoute({
  method: 'GET',
  path: '/live',
  operationId: 'getLive',
  summary: 'Liveness',
  tag: 'health',
  access: 'public',
  response: z.object({ status: z.literal('alive') }),
  handler: async () => ({ status: 'alive' as const }),
});

/** `GET /metrics`: the kit's Prometheus exposition text. */
export const metricsRoute = defineRoute({
  method: 'GET',
  path: '/metrics',
  operationId: 'getMetrics',
  summary: 'Prometheus metrics',
  tag: 'health',
  access: 'public',
  response: z.string(),
  responseContentType: 'text/plain',
  handler: async ({ kit }) => textReply(kit.metrics.contentType, await kit.metrics.text()),
});

/** Health, readiness, liveness and metrics routes. */
export const healthRoutes = [rootRoute, healthRoute, readyRoute, liveRoute, metricsRoute];
