import type { Tunekit } from '@tunekit/core';
import { z } from 'zod';
import type { AnyRouteDefinition } from '../routes/route-definition.js';
import { routesOf } from '../routes/route-table.js';
import { ProblemDetailsSchema } from '../server/problem-details.js';
import { toSnakeCase, toWireJsonSchema } from '../wire/wire-case.js';

/** An OpenAPI 3.1 document (plain JSON). */
export type OpenApiDocument = Record<string, unknown> & {
  openapi: '3.1.0';
  paths: Record<string, Record<string, unknown>>;
};

/** Options of {@link openApiDocument}. */
export interface OpenApiDocumentOptions {
  /** Server URLs (e.g. `http://127.0.0.1:3000` or a mount prefix `/api`). */
  servers?: string[];
  title?: string;
  version?: string;
  /** Routes to describe (default: the route table plus the kit's plugin routes). */
  routes?: readonly AnyRouteDefinition[];
}

type JsonSchema = Record<string, unknown>;

function schemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _ignored, ...json } = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    target: 'draft-2020-12',
  }) as JsonSchema;
  // The wire format is snake_case: property names as the server reads and writes them.
  return toWireJsonSchema(json);
}

function parametersOf(schema: z.ZodType | undefined, location: 'path' | 'query'): JsonSchema[] {
  if (!schema) return [];
  const json = schemaOf(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name: toSnakeCase(name),
    in: location,
    required: location === 'path' || (json.required ?? []).includes(name),
    schema: property,
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
  }));
}

const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemDetails' } } },
});

/**
 * The OpenAPI 3.1 document of the route table, generated from the routes' zod schemas with zod 4's
 * `z.toJSONSchema` (request bodies and parameters as inputs, responses as outputs). Served at
 * `/openapi.json`; the typed client's types are generated from it.
 */
export function openApiDocument(kit?: Tunekit, options: OpenApiDocumentOptions = {}): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of options.routes ?? routesOf(kit)) {
    const status = String(route.status ?? 200);
    const responseContent = route.responseContentType
      ? { [route.responseContentType]: { schema: { type: 'string' } } }
      : { 'application/json': { schema: schemaOf(route.response, 'output') } };
    const operation: Record<string, unknown> = {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      ...(route.access === 'public' ? { security: [] } : {}),
      'x-tunekit-access': route.access,
      parameters: [...parametersOf(route.params, 'path'), ...parametersOf(route.query, 'query')],
      responses: {
        [status]: { description: route.summary, content: responseContent },
        ...(route.access === 'public' ? {} : { 401: problemResponse('Missing or invalid credentials') }),
        ...(route.access === 'public' || route.access === 'authenticated'
          ? {}
          : { 403: problemResponse('Permission denied') }),
        400: problemResponse('Invalid input (failing fields in `issues`)'),
        default: problemResponse('Error'),
      },
    };
    if (route.rawBody) {
      operation.requestBody = {
        required: true,
        description: route.rawBody.description,
        content: Object.fromEntries(
          route.rawBody.contentTypes.map((type) => [
            type,
            type === 'multipart/form-data'
              ? {
                  schema: {
                    type: 'object',
                    properties: { file: { type: 'string', format: 'binary' } },
                    required: ['file'],
                  },
                }
              : { schema: { type: 'string', format: 'binary' } },
          ]),
        ),
      };
    } else if (route.body) {
      const optional = route.body.safeParse(undefined).success;
      operation.requestBody = {
        required: !optional,
        content: { 'application/json': { schema: schemaOf(route.body, 'input') } },
      };
    }
    paths[route.path] ??= {};
    (paths[route.path] as Record<string, unknown>)[route.method.toLowerCase()] = operation;
  }
  paths['/openapi.json'] = {
    get: {
      operationId: 'getOpenApiDocument',
      summary: 'This OpenAPI document',
      tags: ['health'],
      security: [],
      responses: {
        200: {
          description: 'OpenAPI 3.1 document',
          content: { 'application/json': { schema: { type: 'object' } } },
        },
      },
    },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: options.title ?? 'Tunekit API',
      version: options.version ?? '0.1.0',
      description:
        'Fine-tuning lifecycle over HTTP: datasets, training jobs, models, inference, evaluation, A/B tests, feedback, audit.',
    },
    ...(options.servers ? { servers: options.servers.map((url) => ({ url })) } : {}),
    security: [{ bearerAuth: [] }, { apiKey: [] }],
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      },
      schemas: { ProblemDetails: schemaOf(ProblemDetailsSchema, 'output') },
    },
    paths,
  };
}
