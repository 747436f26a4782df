import type { Readable } from 'node:stream';
import {
  type OperationContext,
  type Principal,
  type TunekitError,
  tunekitError,
  validationFailed,
} from '@tunekit/core';
import { z } from 'zod';
import {
  type AnyRouteDefinition,
  isRouteReply,
  type RouteAccess,
  type ServerSentEvent,
  type ServiceAuditOptions,
} from '../routes/route-definition.js';
import { fromWire, toSnakeCase, toWire, wirePath } from '../wire/wire-case.js';
import { suppressedAuditEntry } from './anonymous-audit-limiter.js';
import { releasingWhenDone } from './concurrency-limiter.js';
import { PROBLEM_CONTENT_TYPE, type ProblemDetails, toProblem, toTunekitError } from './problem-details.js';
import type { ServerContext } from './server-context.js';

/** A request as an adapter hands it over: already routed, body parsed by the framework (or a stream). */
export interface AdapterRequest {
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  body: unknown;
  bodyStream?: Readable;
  headers: Record<string, string | string[] | undefined>;
  ip: string;
  requestId: string;
  signal: AbortSignal;
}

/** What an adapter writes back. */
export type AdapterResponse =
  | { status: number; headers: Record<string, string>; body: string }
  | { status: number; headers: Record<string, string>; events: AsyncIterable<ServerSentEvent> };

/** Server-Sent Events with their JSON data in the wire's snake_case. */
async function* wireEvents(events: AsyncIterable<ServerSentEvent>): AsyncIterable<ServerSentEvent> {
  for await (const event of events)
    yield event.rawData === undefined ? { ...event, data: toWire(undefined, event.data) } : event;
}

/** Serialises one Server-Sent Event. */
export function formatServerSentEvent(event: ServerSentEvent): string {
  const data = event.rawData ?? JSON.stringify(event.data);
  return `${event.id ? `id: ${event.id}\n` : ''}${event.event ? `event: ${event.event}\n` : ''}data: ${data}\n\n`;
}

/**
 * A problem document in the wire's casing. Services validate their own camelCase fields, so their
 * errors name `maxSteps` where the HTTP caller sent `max_steps`: the issue paths, the field names
 * the detail and the issue messages quote (those of the issue paths, and `details.received`, the
 * fields a job input had), and `details.received` itself become snake_case. Other words stay.
 */
export function toWireProblem(problem: ProblemDetails): ProblemDetails {
  const received = Array.isArray(problem.details?.received)
    ? problem.details.received.filter((field): field is string => typeof field === 'string')
    : [];
  const fields = new Set(
    [...(problem.issues ?? []).flatMap((issue) => issue.path.split('.')), ...received].filter(
      (field) => toSnakeCase(field) !== field,
    ),
  );
  const rename = (text: string) =>
    fields.size === 0
      ? text
      : text.replace(/[A-Za-z][A-Za-z0-9]*/g, (word) => (fields.has(word) ? toSnakeCase(word) : word));
  return {
    ...problem,
    detail: rename(problem.detail),
    ...(problem.issues
      ? {
          issues: problem.issues.map((issue) => ({
            path: issue.path.split('.').map(toSnakeCase).join('.'),
            message: rename(issue.message),
          })),
        }
      : {}),
    ...(problem.details && received.length > 0
      ? { details: { ...problem.details, received: received.map(toSnakeCase) } }
      : {}),
  };
}

/** An error response for an adapter (problem+json), field names in the wire's casing. */
export function problemResponse(error: unknown, requestId: string): AdapterResponse {
  const problem = toWireProblem(toProblem(toTunekitError(error), requestId));
  return {
    status: problem.status,
    headers: {
      'content-type': PROBLEM_CONTENT_TYPE,
      ...(problem.code === 'RATE_LIMITED' && typeof problem.details?.retryAfterSeconds === 'number'
        ? { 'retry-after': String(problem.details.retryAfterSeconds) }
        : {}),
    },
    body: JSON.stringify(toWire(undefined, problem)),
  };
}

/** Validates a request part sent in the wire's snake_case into the route schema's shape. */
function parsePart(schema: z.ZodType | undefined, value: unknown, what: string): unknown {
  if (!schema) return value;
  const result = schema.safeParse(fromWire(schema, value));
  if (!result.success) {
    const issues = result.error.issues.map((issue) => ({ ...issue, path: wirePath(issue.path) }));
    throw validationFailed(new z.ZodError(issues as z.core.$ZodIssue[]), what);
  }
  return result.data;
}

/**
 * Answers a request the framework rejected before the route ran (malformed JSON, body too large) and,
 * for a mutating route, audits it as a failure with the caller (when its credentials are valid) and
 * the request id.
 */
export async function rejectRequest(
  server: ServerContext,
  route: AnyRouteDefinition | undefined,
  request: Pick<AdapterRequest, 'headers' | 'ip' | 'requestId'>,
  error: TunekitError,
): Promise<AdapterResponse> {
  const denied = error.code === 'UNAUTHENTICATED' || error.code === 'FORBIDDEN';
  if (route && (isMutating(route) || denied)) {
    const principal = await server.authenticator.authenticate(request.headers).catch(() => undefined);
    await recordRequestAudit(
      server,
      {
        action: `http.${route.operationId}`,
        resourceType: 'http',
        resourceId: route.path,
        outcome: denied ? 'denied' : 'failure',
        details: { method: route.method, status: error.status, code: error.code },
      },
      { actor: principal?.id ?? 'anonymous', requestId: request.requestId, ip: request.ip },
    );
  }
  return problemResponse(error, request.requestId);
}

/**
 * Writes the HTTP layer's audit event of a request. Failures of anonymous callers go through the
 * per-address budget (`limits.anonymousAuditPerMinute`): past it they are counted and written as one
 * `http.suppressed` summary per address and window, so a flood cannot grow the log without bound.
 */
export async function recordRequestAudit(
  server: ServerContext,
  entry: Parameters<ServerContext['kit']['audit']['record']>[0],
  operation: OperationContext,
): Promise<void> {
  const { kit } = server;
  let event = entry;
  if (operation.actor === 'anonymous' && entry.outcome !== 'success') {
    const latest = { action: entry.action, ...(entry.details ?? {}) };
    const decision = server.anonymousAudit.admit(operation.ip ?? 'unknown', latest);
    if (decision.kind === 'suppress') return;
    if (decision.kind === 'summary') {
      event = suppressedAuditEntry({ ...decision, latest }, entry.outcome);
    }
  }
  await kit.audit
    .record(event, operation)
    .catch((error: unknown) => kit.logger.error({ err: error }, 'audit record failed'));
}

/** The nesting depth of a parsed JSON value (iterative: a hostile depth cannot overflow the stack). */
export function jsonDepth(value: unknown, stopAt = Number.POSITIVE_INFINITY): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [unknown, number];
    if (current === null || typeof current !== 'object') continue;
    const level = depth + 1;
    if (level > deepest) deepest = level;
    if (deepest > stopAt) return deepest;
    for (const child of Object.values(current)) {
      if (child !== null && typeof child === 'object') stack.push([child, level]);
    }
  }
  return deepest;
}

/** Throws `VALIDATION_FAILED` (400) when a JSON body nests deeper than the server allows. */
function assertJsonDepth(body: unknown, limit: number): void {
  if (jsonDepth(body, limit) > limit) {
    throw tunekitError('VALIDATION_FAILED', `The JSON body nests deeper than ${limit} levels`, {
      issues: [{ path: '(body)', message: `nested deeper than ${limit}` }],
      limit,
    });
  }
}

/**
 * Checks credentials before the body is read: a route that is not public answers 401 at once when
 * the request has no valid credentials, so an anonymous caller cannot make the server parse or
 * spool a large body. Returns the error to answer with (the adapter closes the connection without
 * reading the body), or undefined to go on.
 */
export async function authenticateBeforeBody(
  server: ServerContext,
  route: AnyRouteDefinition,
  headers: Record<string, string | string[] | undefined>,
): Promise<TunekitError | undefined> {
  if (route.access === 'public') return undefined;
  try {
    await server.ready;
    const principal = await server.authenticator.authenticate(headers);
    if (principal) return undefined;
    return tunekitError('UNAUTHENTICATED', 'Credentials are required');
  } catch (error) {
    return toTunekitError(error);
  }
}

/** Whether a request carries a body (declared length above zero, or chunked). */
export function hasRequestBody(headers: Record<string, string | string[] | undefined>): boolean {
  const length = Number(headers['content-length'] ?? 0);
  return (Number.isFinite(length) && length > 0) || headers['transfer-encoding'] !== undefined;
}

/** Whether the route changes state. */
export function isMutating(route: AnyRouteDefinition): boolean {
  return route.mutating ?? route.method !== 'GET';
}

/** Throws `FORBIDDEN` unless the principal may call a route of this access. */
function assertAccess(server: ServerContext, principal: Principal, access: RouteAccess): void {
  if (access === 'authenticated' || access === 'public') return;
  if (access === 'admin') {
    if (principal.roles.includes('admin')) return;
    throw tunekitError('FORBIDDEN', `"${principal.id}" lacks the admin role this route needs`, {
      role: 'admin',
    });
  }
  server.kit.policy.assertCan(principal, access);
}

/**
 * Runs one route for an adapter: authenticates, enforces the route's access (a `kit.policy`
 * permission or the admin role), validates params/query/body with the route's zod schemas (400 with
 * the failing fields), calls the handler with an `OperationContext`, and writes one audit event per
 * mutating request with actor, outcome and request id: the service's own when the handler's
 * `serviceAudited` call covered the outcome, else `http.<operationId>`. Failures come back as
 * problem+json responses, never as throws.
 */
export async function handleRoute(
  server: ServerContext,
  route: AnyRouteDefinition,
  request: AdapterRequest,
): Promise<AdapterResponse> {
  const { kit } = server;
  let principal: Principal | undefined;
  const operation: OperationContext = { actor: 'anonymous', requestId: request.requestId, ip: request.ip };
  let outcome: 'success' | 'failure' | 'denied' = 'success';
  let status = 200;
  let errorCode: string | undefined;
  // Set when a service wrote this request's audit event itself (see RouteContext.serviceAudited).
  let auditedByService = false;
  const serviceAudited = async <T>(call: Promise<T>, options: ServiceAuditOptions = {}): Promise<T> => {
    try {
      const result = await call;
      auditedByService = true;
      return result;
    } catch (error) {
      if (options.failures) auditedByService = true;
      throw error;
    }
  };
  try {
    await server.ready;
    try {
      principal = await server.authenticator.authenticate(request.headers);
    } catch (error) {
      if (route.access !== 'public') throw error;
    }
    if (principal) operation.actor = principal.id;
    if (route.access !== 'public') {
      if (!principal) {
        throw tunekitError('UNAUTHENTICATED', 'Credentials are required');
      }
      assertAccess(server, principal, route.access);
    }
    const params = parsePart(route.params, request.params, 'path parameters');
    const query = parsePart(route.query, request.query, 'query');
    if (!route.rawBody) assertJsonDepth(request.body, server.limits.maxJsonDepth);
    const body = route.rawBody ? undefined : parsePart(route.body, request.body, 'request body');
    const result = await route.handler({
      kit,
      server,
      principal,
      params,
      query,
      body,
      bodyStream: request.bodyStream,
      headers: request.headers,
      operation,
      serviceAudited,
      requestId: request.requestId,
      signal: request.signal,
    });
    if (isRouteReply(result)) {
      if (result.kind === 'events') {
        // Streams are long-lived: each holds a slot of limits.streams until it ends.
        const release = server.streamLimiter.acquire(principal?.id ?? `anonymous:${request.ip}`);
        return {
          status: 200,
          headers: {
            'content-type': 'text/event-stream; charset=utf-8',
            'cache-control': 'no-cache, no-transform',
            'x-accel-buffering': 'no',
            // A stream is long-lived; its connection is not reused, so shutdown need not wait for keep-alive timeouts.
            connection: 'close',
          },
          events: releasingWhenDone(wireEvents(result.events), release),
        };
      }
      status = result.status ?? route.status ?? 200;
      if (result.kind === 'text') {
        return { status, headers: { 'content-type': result.contentType }, body: result.body };
      }
      return {
        status,
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify(toWire(route.response, result.body)),
      };
    }
    status = route.status ?? 200;
    return {
      status,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(toWire(route.response, result ?? null)),
    };
  } catch (caught) {
    const error = toTunekitError(caught);
    if (error.status >= 500)
      kit.logger.error({ err: caught, requestId: request.requestId }, 'request failed');
    status = error.status;
    errorCode = error.code;
    outcome = error.code === 'FORBIDDEN' || error.code === 'UNAUTHENTICATED' ? 'denied' : 'failure';
    return problemResponse(error, request.requestId);
  } finally {
    // Every mutating request is audited, and every denied one of any method (a denied GET too).
    if ((isMutating(route) || outcome === 'denied') && !auditedByService) {
      await recordRequestAudit(
        server,
        {
          action: `http.${route.operationId}`,
          resourceType: 'http',
          resourceId: route.path,
          outcome,
          details: { method: route.method, status, ...(errorCode ? { code: errorCode } : {}) },
        },
        operation,
      );
    }
  }
}
