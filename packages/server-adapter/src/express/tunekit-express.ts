import { createRequire } from 'node:module';
import { type Tunekit, TunekitError, tunekitError } from '@tunekit/core';
import type { NextFunction, Request, Response, Router } from 'express';
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

/**
 * Loads `express`, an optional peer dependency: the host app brings it, and apps that mount Tunekit
 * on Fastify never load it. Express 5 is a CommonJS package, so `require` gives the module at once.
 */
function loadExpress(): typeof import('express') {
  try {
    return createRequire(import.meta.url)('express') as typeof import('express');
  } catch (error) {
    throw tunekitError(
      'NOT_IMPLEMENTED',
      'tunekitExpress needs the "express" package (an optional peer dependency): npm install express',
      { cause: error instanceof Error ? error.message : String(error) },
    );
  }
}

/** Options of {@link tunekitExpress}. */
export interface TunekitExpressOptions extends TunekitServerOptions {
  /** A shared context (from `createServerContext`) instead of a new one. */
  context?: ServerContext;
  /**
   * Answer unmatched paths under the mount with a 404 problem (default true). Set false when the
   * router is mounted at `/` in front of the host app's own routes.
   */
  notFound?: boolean;
}

/** An Express router with the Tunekit API, and its context (close it with `router.tunekit.close()`). */
export type TunekitRouter = Router & { tunekit: ServerContext };

function writeProblem(response: Response, error: unknown, requestId: string) {
  const problem = problemResponse(error, requestId) as {
    status: number;
    headers: Record<string, string>;
    body: string;
  };
  response.status(problem.status).set(problem.headers).set('x-request-id', requestId).send(problem.body);
}

/** Maps body-parser errors (bad JSON, too large) onto Tunekit codes. */
export function fromBodyParserError(error: {
  type?: string;
  status?: number;
  message?: string;
}): TunekitError {
  if (TunekitError.isInstance(error)) return error;
  if (error.type === 'entity.too.large' || error.status === 413) {
    return tunekitError('PAYLOAD_TOO_LARGE', 'The request body is too large');
  }
  if (error.type === 'entity.parse.failed' || (error.status !== undefined && error.status < 500)) {
    return tunekitError(
      'VALIDATION_FAILED',
      error.type === 'entity.parse.failed' ? 'The body is not valid JSON' : (error.message ?? 'Bad request'),
      { issues: [{ path: '(body)', message: error.message ?? 'invalid' }] },
    );
  }
  return tunekitError('INTERNAL', 'Internal server error', undefined, { cause: error });
}

async function send(
  response: Response,
  result: AdapterResponse,
  server: ServerContext,
  controller: AbortController,
  requestId: string,
) {
  if (!('events' in result)) {
    response.status(result.status).set(result.headers).send(result.body);
    return;
  }
  response.status(result.status).set(result.headers);
  response.flushHeaders();
  await writeServerSentEvents(response, result.events, server, controller, requestId);
}

/**
 * The Tunekit API as an Express 5 router: `app.use('/api', tunekitExpress(kit, { auth: { jwtSecret } }))`.
 * JSON bodies are parsed with a size limit, uploads are streamed, errors are problem+json, and
 * unknown paths under the mount answer 404.
 */
export function tunekitExpress(kit: Tunekit, options: TunekitExpressOptions = {}): TunekitRouter {
  const { context, notFound = true, ...serverOptions } = options;
  const server = context ?? createServerContext(kit, serverOptions);
  const express = loadExpress();
  const router = express.Router() as TunekitRouter;
  router.tunekit = server;
  const json = express.json({ limit: server.bodyLimit, type: ['application/json', 'application/*+json'] });

  const handler = (route: AnyRouteDefinition) => async (request: Request, response: Response) => {
    const requestId = requestIdOf(request.headers);
    response.set('x-request-id', requestId);
    const controller = new AbortController();
    response.on('close', () => controller.abort());
    const result = await handleRoute(server, route, {
      params: { ...request.params },
      query: { ...(request.query as Record<string, unknown>) },
      body: route.rawBody ? undefined : request.body,
      bodyStream: route.rawBody ? request : undefined,
      headers: request.headers,
      ip: request.ip ?? request.socket.remoteAddress ?? 'unknown',
      requestId,
      signal: controller.signal,
    });
    if (route.rawBody && !request.readableEnded) request.resume();
    await send(response, result, server, controller, requestId);
  };

  /** Parses JSON bodies; a parse failure (bad JSON, too large) is answered and audited for this route. */
  const parseBody =
    (route: AnyRouteDefinition) => (request: Request, response: Response, next: NextFunction) => {
      json(request, response, (error?: unknown) => {
        if (!error) return next();
        const requestId = requestIdOf(request.headers);
        const ip = request.ip ?? request.socket.remoteAddress ?? 'unknown';
        void rejectRequest(
          server,
          route,
          { headers: request.headers, ip, requestId },
          fromBodyParserError(error as { type?: string }),
        ).then((result) => {
          const problem = result as { status: number; headers: Record<string, string>; body: string };
          response
            .status(problem.status)
            .set(problem.headers)
            .set('x-request-id', requestId)
            .send(problem.body);
        });
      });
    };

  /**
   * Checks credentials before any body is read: without them a route that is not public answers
   * 401 and closes the connection, so an anonymous caller cannot make the server read a large body.
   */
  const authenticateFirst =
    (route: AnyRouteDefinition) => (request: Request, response: Response, next: NextFunction) => {
      if (!hasRequestBody(request.headers)) return next();
      void authenticateBeforeBody(server, route, request.headers).then(async (error) => {
        if (!error) return next();
        const requestId = requestIdOf(request.headers);
        const ip = request.ip ?? request.socket.remoteAddress ?? 'unknown';
        const problem = (await rejectRequest(
          server,
          route,
          { headers: request.headers, ip, requestId },
          error,
        )) as {
          status: number;
          headers: Record<string, string>;
          body: string;
        };
        response
          .status(problem.status)
          .set(problem.headers)
          .set('x-request-id', requestId)
          .set('connection', 'close')
          .send(problem.body);
      }, next);
    };

  for (const route of routesOf(kit)) {
    const path = route.path.replace(/\{([^}]+)\}/g, ':$1');
    const method = route.method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete';
    if (route.rawBody) router[method](path, authenticateFirst(route), handler(route));
    else router[method](path, authenticateFirst(route), parseBody(route), handler(route));
  }
  const document = openApiDocument(kit);
  router.get('/openapi.json', (_request, response) => {
    response.json(document);
  });
  if (server.options.ui !== false) {
    // The web UI's files at `/ui/` (public: the page logs in through the API).
    const serveFile = (request: Request, response: Response, next: NextFunction) => {
      // Non-strict routing matches `/ui` and `/ui/` alike: `ui` → `ui/`, so that relative links resolve.
      if (request.params.file === undefined && !request.originalUrl.split('?')[0]?.endsWith('/')) {
        response.redirect(301, 'ui/');
        return;
      }
      const result = webUiResponse(String(request.params.file ?? ''), request.headers['if-none-match']);
      if (!result) return next();
      response.status(result.status).set(result.headers).end(result.body);
    };
    router.get('/ui', serveFile);
    router.get('/ui/:file', serveFile);
  }
  router.use((request: Request, response: Response, next: NextFunction) => {
    if (!notFound) return next();
    writeProblem(
      response,
      tunekitError('NOT_FOUND', `No route ${request.method} ${request.path}`),
      requestIdOf(request.headers),
    );
  });
  router.use((error: unknown, request: Request, response: Response, _next: NextFunction) => {
    writeProblem(response, fromBodyParserError(error as { type?: string }), requestIdOf(request.headers));
  });
  return router;
}
