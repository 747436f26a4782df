import { Readable } from 'node:stream';
import { type Tunekit, TunekitError, tunekitError } from '@tunekit/core';
import type {
  FastifyError,
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
} from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { openApiDocument } from '../openapi/openapi-document.js';
import type { AnyRouteDefinition } from '../routes/route-definition.js';
import { routesOf } from '../routes/route-table.js';
import {
  type AdapterResponse,
  authenticateBeforeBody,
  handleRoute,
  hasRequestBody,
  problemResponse,
  rejectRequest,
} from '../server/handle-route.js';
import { requestIdOf } from '../server/request-id.js';
import { createServerContext, type ServerContext } from '../server/server-context.js';
import type { TunekitServerOptions } from '../server/server-options.js';
import { writeServerSentEvents } from '../server/write-server-sent-events.js';
import { webUiResponse } from '../ui/web-ui-response.js';

/** Options of {@link tunekitFastify}. */
export interface TunekitFastifyOptions extends TunekitServerOptions {
  kit: Tunekit;
  /** Mount prefix, e.g. `/api` (default: none). */
  prefix?: string;
  /** A shared context (from `createServerContext`) instead of a new one. */
  context?: ServerContext;
}

const rawContentTypes = [
  'multipart/form-data',
  'application/octet-stream',
  'application/x-ndjson',
  'text/csv',
  'text/plain',
];

/** Maps Fastify's own errors (bad JSON, body too large, unsupported media type) onto Tunekit codes. */
export function fromFastifyError(error: FastifyError): TunekitError {
  if (TunekitError.isInstance(error)) return error;
  const status = error.statusCode ?? 500;
  if (status === 413) return tunekitError('PAYLOAD_TOO_LARGE', 'The request body is too large');
  if (status === 415) return tunekitError('UNSUPPORTED_MEDIA_TYPE', error.message);
  if (status >= 400 && status < 500) {
    return tunekitError(
      'VALIDATION_FAILED',
      error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError
        ? 'The body is not valid JSON'
        : error.message,
      { issues: [{ path: '(body)', message: error.message }] },
    );
  }
  return tunekitError('INTERNAL', 'Internal server error', undefined, { cause: error });
}

async function send(
  request: FastifyRequest,
  reply: FastifyReply,
  response: AdapterResponse,
  server: ServerContext,
  controller: AbortController,
) {
  if (!('events' in response)) {
    return reply.code(response.status).headers(response.headers).send(response.body);
  }
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(response.status, {
    ...response.headers,
    'x-request-id': String(reply.getHeader('x-request-id') ?? ''),
  });
  raw.flushHeaders();
  await writeServerSentEvents(raw, response.events, server, controller, String(request.id));
}

function routeHandler(server: ServerContext, route: AnyRouteDefinition) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    // The caller's safe X-Request-Id wins; else the host app's request id (createServer makes them equal).
    const requestId = request.headers['x-request-id'] ? requestIdOf(request.headers) : String(request.id);
    reply.header('x-request-id', requestId);
    const controller = new AbortController();
    reply.raw.on('close', () => controller.abort());
    let body = request.body;
    let bodyStream: Readable | undefined;
    if (route.rawBody) {
      bodyStream =
        body instanceof Readable
          ? body
          : body === undefined
            ? undefined
            : Readable.from([Buffer.from(typeof body === 'string' ? body : JSON.stringify(body))]);
      body = undefined;
    }
    const response = await handleRoute(server, route, {
      params: (request.params ?? {}) as Record<string, unknown>,
      query: (request.query ?? {}) as Record<string, unknown>,
      body,
      bodyStream,
      headers: request.headers,
      ip: request.ip,
      requestId,
      signal: controller.signal,
    });
    // An upload rejected before its body was read: drain it so the connection can answer.
    if (bodyStream && !bodyStream.readableEnded) bodyStream.resume();
    return send(request, reply, response, server, controller);
  };
}

/** Registers routes on a (child) context. */
function addRoutes(fastify: FastifyInstance, server: ServerContext, routes: readonly AnyRouteDefinition[]) {
  for (const route of routes) {
    fastify.route({
      method: route.method,
      url: route.path.replace(/\{([^}]+)\}/g, ':$1'),
      bodyLimit: route.rawBody ? server.uploadLimit + 64 * 1024 : server.bodyLimit,
      config: { tunekitRoute: route },
      handler: routeHandler(server, route),
    });
  }
}

/** The routes in an encapsulated context (their parsers and error handler do not leak into the host app). */
function routesPlugin(server: ServerContext, routes: readonly AnyRouteDefinition[]): FastifyPluginAsync {
  return async (fastify: FastifyInstance) => {
    fastify.addContentTypeParser(rawContentTypes, (_request, payload, done) => done(null, payload));
    // Credentials are checked before any body is read: without them a route that is not public
    // answers 401 and closes the connection, so an anonymous 250 MB body is never parsed.
    fastify.addHook('onRequest', async (request, reply) => {
      const route = (request.routeOptions.config as { tunekitRoute?: AnyRouteDefinition }).tunekitRoute;
      if (!route || !hasRequestBody(request.headers)) return;
      const error = await authenticateBeforeBody(server, route, request.headers);
      if (!error) return;
      const requestId = request.headers['x-request-id'] ? requestIdOf(request.headers) : String(request.id);
      const response = (await rejectRequest(
        server,
        route,
        { headers: request.headers, ip: request.ip, requestId },
        error,
      )) as { status: number; headers: Record<string, string>; body: string };
      return reply
        .code(response.status)
        .headers(response.headers)
        .header('x-request-id', requestId)
        .header('connection', 'close')
        .send(response.body);
    });
    fastify.setErrorHandler(async (error: FastifyError, request, reply) => {
      const route = (request.routeOptions.config as { tunekitRoute?: AnyRouteDefinition }).tunekitRoute;
      const requestId = request.headers['x-request-id'] ? requestIdOf(request.headers) : String(request.id);
      const response = (await rejectRequest(
        server,
        route,
        { headers: request.headers, ip: request.ip, requestId },
        fromFastifyError(error),
      )) as { status: number; headers: Record<string, string>; body: string };
      return reply
        .code(response.status)
        .headers(response.headers)
        .header('x-request-id', requestId)
        .send(response.body);
    });
    fastify.setNotFoundHandler((request, reply) => {
      const response = problemResponse(
        tunekitError('NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`),
        String(request.id),
      ) as { status: number; headers: Record<string, string>; body: string };
      reply.code(404).headers(response.headers).send(response.body);
    });
    addRoutes(
      fastify,
      server,
      routes.filter((route) => !route.rawBody),
    );
    // Upload routes stream every content type (JSON included) to their handler, which counts bytes
    // against the upload limit: Fastify never buffers an upload-sized JSON body.
    await fastify.register(async (uploads) => {
      uploads.removeAllContentTypeParsers();
      uploads.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
      addRoutes(
        uploads,
        server,
        routes.filter((route) => route.rawBody),
      );
    });
    const document = openApiDocument(server.kit);
    fastify.get('/openapi.json', async (_request, reply) => reply.send(document));
    if (server.options.ui !== false) webUiRoutes(fastify);
  };
}

/** The web UI's files at `/ui/` (public: the page logs in through the API). */
function webUiRoutes(fastify: FastifyInstance) {
  // `ui` → `ui/`, so that the page's relative links resolve under the mount.
  fastify.get('/ui', async (_request, reply) => reply.redirect('ui/', 301));
  const serveFile = async (request: FastifyRequest<{ Params: { file?: string } }>, reply: FastifyReply) => {
    const response = webUiResponse(request.params.file ?? '', request.headers['if-none-match']);
    if (!response) return reply.callNotFound();
    return reply.code(response.status).headers(response.headers).send(response.body);
  };
  fastify.get('/ui/', serveFile);
  fastify.get('/ui/:file', serveFile);
}

/**
 * The Tunekit API as a Fastify plugin (fastify-plugin): mount it with
 * `app.register(tunekitFastify, { kit, prefix: '/api', auth: { jwtSecret } })`. Routes, body parsers,
 * error and not-found handlers live in an encapsulated child context under the prefix.
 */
export const tunekitFastify = fastifyPlugin<TunekitFastifyOptions>(
  async (fastify, options) => {
    const { kit, prefix, context, ...serverOptions } = options;
    const server = context ?? createServerContext(kit, serverOptions);
    fastify.decorate('tunekit', server);
    if (!context) fastify.addHook('onClose', async () => server.close());
    await fastify.register(routesPlugin(server, routesOf(kit)), { prefix: prefix ?? '' });
  },
  { name: '@tunekit/server-adapter', fastify: '5.x' },
);

declare module 'fastify' {
  interface FastifyInstance {
    /** The Tunekit server context of `tunekitFastify`. */
    tunekit: ServerContext;
  }
}
