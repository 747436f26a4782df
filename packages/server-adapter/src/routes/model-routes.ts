import { createServiceKey, type OperationContext, TunekitError } from '@tunekit/core';
import { z } from 'zod';
import type { ServerContext } from '../server/server-context.js';
import { IdParamsSchema, JsonObjectSchema, PageQuerySchema } from './common-schemas.js';
import { defineRoute } from './route-definition.js';

/**
 * What the model routes call on the registry service (provided by `@tunekit/registry`'s plugin under
 * the service id `registry`). Methods are looked up at call time; a missing one answers 501.
 */
export interface ModelRegistryPort {
  list(query: Record<string, unknown>): Promise<unknown>;
  search(query: Record<string, unknown>): Promise<unknown>;
  get(versionId: string): Promise<unknown>;
  card(versionId: string): Promise<unknown>;
  recommend(query: Record<string, unknown>): Promise<unknown>;
  transition(versionId: string, stage: string, context?: OperationContext): Promise<unknown>;
  deploy(versionId: string, context?: OperationContext): Promise<unknown>;
  rollback(name: string, context?: OperationContext): Promise<unknown>;
}

function registryMethod<K extends keyof ModelRegistryPort>(
  server: ServerContext,
  method: K,
): ModelRegistryPort[K] {
  const key = createServiceKey<Partial<ModelRegistryPort>>(server.options.registryService ?? 'registry');
  const registry = server.kit.has(key) ? server.kit.get(key) : undefined;
  const found = registry?.[method];
  if (typeof found !== 'function') {
    throw new TunekitError({
      code: 'NOT_IMPLEMENTED',
      status: 501,
      message: registry
        ? `The model registry has no "${method}" operation`
        : 'No model registry is installed (add the @tunekit/registry plugin to the kit)',
    });
  }
  return found.bind(registry) as ModelRegistryPort[K];
}

function found(value: unknown, what: string): Record<string, unknown> {
  if (value === undefined || value === null)
    throw new TunekitError({ code: 'NOT_FOUND', status: 404, message: `No ${what}` });
  return value as Record<string, unknown>;
}

const ModelQuerySchema = PageQuerySchema.extend({
  name: z.string().min(1).max(200).optional(),
  stage: z.enum(['draft', 'staging', 'production', 'archived']).optional(),
  base_model: z.string().min(1).max(200).optional(),
  language: z.string().min(1).max(50).optional(),
  task: z.string().min(1).max(100).optional(),
  tag: z.string().min(1).max(100).optional(),
  q: z.string().min(1).max(500).optional(),
});

function registryQuery(query: z.output<typeof ModelQuerySchema>): Record<string, unknown> {
  const { base_model, tag, q, ...rest } = query;
  return { ...rest, baseModel: base_model, tags: tag ? [tag] : undefined, text: q };
}

/** Model registry routes: list, search, get, card, recommend, transition, deploy, rollback. */
export const modelRoutes = [
  defineRoute({
    method: 'GET',
    path: '/models',
    operationId: 'listModels',
    summary: 'List model versions',
    tag: 'models',
    access: 'models:read',
    query: ModelQuerySchema,
    response: JsonObjectSchema,
    handler: async ({ server, query }) =>
      found(await registryMethod(server, 'list')(registryQuery(query)), 'models'),
  }),
  defineRoute({
    method: 'GET',
    path: '/models/search',
    operationId: 'searchModels',
    summary: 'Search model versions by base_model, language, task, tags and text',
    tag: 'models',
    access: 'models:read',
    query: ModelQuerySchema,
    response: JsonObjectSchema,
    handler: async ({ server, query }) =>
      found(await registryMethod(server, 'search')(registryQuery(query)), 'models'),
  }),
  defineRoute({
    method: 'GET',
    path: '/models/{id}',
    operationId: 'getModel',
    summary: 'Get a model version',
    tag: 'models',
    access: 'models:read',
    params: IdParamsSchema,
    response: JsonObjectSchema,
    handler: async ({ server, params }) =>
      found(await registryMethod(server, 'get')(params.id), `model "${params.id}"`),
  }),
  defineRoute({
    method: 'GET',
    path: '/models/{id}/card',
    operationId: 'getModelCard',
    summary: 'Model card of a version',
    tag: 'models',
    access: 'models:read',
    params: IdParamsSchema,
    response: JsonObjectSchema,
    handler: async ({ server, params }) =>
      found(await registryMethod(server, 'card')(params.id), `model "${params.id}"`),
  }),
  defineRoute({
    method: 'POST',
    path: '/models/recommend',
    operationId: 'recommendModels',
    summary: 'Recommend model versions by embedding similarity to a description',
    tag: 'models',
    access: 'models:read',
    mutating: false,
    body: z
      .object({
        query: z.string().min(1).max(10_000),
        k: z.number().int().min(1).max(100).default(5),
        task: z.string().max(100).optional(),
        language: z.string().max(50).optional(),
        stage: z.enum(['draft', 'staging', 'production', 'archived']).optional(),
      })
      .strict(),
    response: JsonObjectSchema,
    handler: async ({ server, body }) => {
      const result = await registryMethod(server, 'recommend')(body);
      return Array.isArray(result) ? { items: result } : found(result, 'recommendation');
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/models/{id}/transition',
    operationId: 'transitionModel',
    summary: 'Move a version to a stage (the previous production version is archived)',
    tag: 'models',
    access: 'models:transition',
    params: IdParamsSchema,
    body: z.object({ stage: z.enum(['draft', 'staging', 'production', 'archived']) }).strict(),
    response: JsonObjectSchema,
    handler: async ({ server, params, body, operation }) =>
      found(
        await registryMethod(server, 'transition')(params.id, body.stage, operation),
        `model "${params.id}"`,
      ),
  }),
  defineRoute({
    method: 'POST',
    path: '/models/{id}/deploy',
    operationId: 'deployModel',
    summary: 'Deploy a version to production',
    tag: 'models',
    access: 'models:transition',
    params: IdParamsSchema,
    response: JsonObjectSchema,
    handler: async ({ server, params, operation }) =>
      found(await registryMethod(server, 'deploy')(params.id, operation), `model "${params.id}"`),
  }),
  defineRoute({
    method: 'POST',
    path: '/models/{id}/rollback',
    operationId: 'rollbackModel',
    summary: 'Roll a registered model back to its previous production version',
    tag: 'models',
    access: 'models:transition',
    params: IdParamsSchema,
    response: JsonObjectSchema,
    handler: async ({ server, params, operation }) =>
      found(await registryMethod(server, 'rollback')(params.id, operation), `model "${params.id}"`),
  }),
];
