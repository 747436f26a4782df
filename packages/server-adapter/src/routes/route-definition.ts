import type { Readable } from 'node:stream';
import type { OperationContext, PermissionRequest, Principal, Tunekit } from '@tunekit/core';
import type { z } from 'zod';
import type { ServerContext } from '../server/server-context.js';

/** HTTP methods the route table uses. */
export type RouteMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * Who may call a route: `public` (no credentials), `authenticated` (any valid principal), `admin`
 * (principals with the admin role: user management, which has no core permission), or a core
 * permission checked with `kit.policy` before the handler runs. Ownership checks on a resource
 * (`jobs:read` on someone else's job) happen inside the handler, once the resource is loaded.
 */
export type RouteAccess = 'public' | 'authenticated' | 'admin' | PermissionRequest;

/** Options of {@link RouteContext.serviceAudited}. */
export interface ServiceAuditOptions {
  /**
   * Whether the service also audits every failure of the call (true for the model registry's stage
   * changes, the dataset upload and the user store; false, the default, when it audits successes only).
   */
  failures?: boolean;
}

/** One Server-Sent Event. */
export interface ServerSentEvent {
  /** Event name (`progress`, `token` …). */
  event?: string;
  /** JSON-serialisable payload (sent as one `data:` line). */
  data: unknown;
  /** Sent verbatim as the `data:` line instead of `data` as JSON (OpenAI's closing `[DONE]`). */
  rawData?: string;
  /** Event id (for `Last-Event-ID`). */
  id?: string;
}

/** What a handler may return besides a JSON value. */
export type RouteReply =
  | { kind: 'json'; status?: number; body: unknown }
  | { kind: 'text'; status?: number; contentType: string; body: string }
  | { kind: 'events'; events: AsyncIterable<ServerSentEvent> };

/** What a handler receives. */
export interface RouteContext<Params, Query, Body> {
  kit: Tunekit;
  server: ServerContext;
  /** The authenticated caller (undefined on public routes without credentials). */
  principal: Principal | undefined;
  params: Params;
  query: Query;
  body: Body;
  /** Raw request body of `rawBody` routes (uploads), read as a stream. */
  bodyStream?: Readable;
  /** Request headers, lower-cased names. */
  headers: Record<string, string | string[] | undefined>;
  /** Who made the request, for audit events of the services. */
  operation: OperationContext;
  /**
   * Awaits a service call that writes its own audit event with `operation` (actor, request id, IP),
   * so that the HTTP layer writes none for this request: once the call succeeds, and also when it
   * fails if `failures` is set. A mutating request gets exactly one audit event either way: the
   * service's, or `http.<operationId>` when it was denied, invalid, failed outside such a call, or
   * its handler called no auditing service.
   */
  serviceAudited<T>(call: Promise<T>, options?: ServiceAuditOptions): Promise<T>;
  requestId: string;
  /** Aborted when the client goes away (SSE streams stop). */
  signal: AbortSignal;
}

/** One route of the table: everything an adapter, the OpenAPI document and the client need. */
export interface RouteDefinition<
  Params extends z.ZodType = z.ZodType,
  Query extends z.ZodType = z.ZodType,
  Body extends z.ZodType = z.ZodType,
  Response extends z.ZodType = z.ZodType,
> {
  method: RouteMethod;
  /** OpenAPI-style path, `{name}` for parameters. */
  path: string;
  /** Stable operation id (OpenAPI `operationId`, audit action `http.<operationId>`). */
  operationId: string;
  summary: string;
  tag: string;
  access: RouteAccess;
  params?: Params;
  query?: Query;
  body?: Body;
  /**
   * The body is not parsed: the handler reads `bodyStream` (uploads). `contentTypes` lists what the
   * OpenAPI document advertises.
   */
  rawBody?: { contentTypes: string[]; description: string };
  /** Schema of the JSON response (200 unless `status`). */
  response: Response;
  /** Success status (default 200). */
  status?: number;
  /** Content type of a non-JSON success response (`text/event-stream`, Prometheus text). */
  responseContentType?: string;
  /**
   * Whether the route changes state (default: method is not GET). Each mutating request writes one
   * audit event: the service's (see {@link RouteContext.serviceAudited}) or `http.<operationId>`.
   */
  mutating?: boolean;
  handler(
    context: RouteContext<z.output<Params>, z.output<Query>, z.output<Body>>,
  ): Promise<z.input<Response> | RouteReply>;
}

/** A route of any schemas (the table's element type). */
// biome-ignore lint/suspicious/noExplicitAny: the table holds routes of different schemas.
export type AnyRouteDefinition = RouteDefinition<any, any, any, any>;

declare module '@tunekit/core' {
  interface ExtensionPoints {
    /**
     * A route a plugin adds to the HTTP API (a {@link RouteDefinition}, e.g. built with
     * `defineRoute`): the Fastify plugin, the Express router and the OpenAPI document serve it
     * beside the built-in table. Checked again when mounted, for plugins written in JavaScript.
     */
    route: AnyRouteDefinition;
  }
}

/** Declares a route with its schema types inferred (identity at run time). */
export function defineRoute<
  Params extends z.ZodType = z.ZodObject<Record<string, never>>,
  Query extends z.ZodType = z.ZodObject<Record<string, never>>,
  Body extends z.ZodType = z.ZodUnknown,
  Response extends z.ZodType = z.ZodType,
>(route: RouteDefinition<Params, Query, Body, Response>): RouteDefinition<Params, Query, Body, Response> {
  return route;
}

const replyMarker = Symbol.for('tunekit.routeReply');

/** A JSON reply with a status other than the route's default. */
export function jsonReply(status: number, body: unknown): RouteReply {
  return Object.assign({ kind: 'json' as const, status, body }, { [replyMarker]: true });
}

/** A non-JSON text reply (Prometheus exposition, plain text). */
export function textReply(contentType: string, body: string, status = 200): RouteReply {
  return Object.assign({ kind: 'text' as const, status, contentType, body }, { [replyMarker]: true });
}

/** A Server-Sent Events reply; the adapter writes each event as it comes and ends with the iterable. */
export function eventStreamReply(events: AsyncIterable<ServerSentEvent>): RouteReply {
  return Object.assign({ kind: 'events' as const, events }, { [replyMarker]: true });
}

/** Whether a value returned by a handler is a {@link RouteReply} rather than a JSON body. */
export function isRouteReply(value: unknown): value is RouteReply {
  return (
    typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[replyMarker] === true
  );
}
