import {
  ModelCardSchema,
  ModelNameSchema,
  ModelStageSchema,
  ModelVersionSchema,
  type Tunekit,
  tunekitError,
} from '@tunekit/core';
import type { ModelRegistry } from '@tunekit/registry';
import { z } from 'zod';
import type { ServerContext } from '../server/server-context.js';
import { assertOwnsArtifact } from './artifact-ownership.js';
import { PageQuerySchema, pageOf } from './common-schemas.js';
import { defineRoute } from './route-definition.js';

/** Service id under which `@tunekit/registry`'s plugin provides the registry. */
export const REGISTRY_SERVICE_ID = 'registry';

/** The kit's model registry (`registryPlugin()` from `@tunekit/registry`); 501 `NOT_IMPLEMENTED` without it. */
export function registryOf(server: ServerContext): ModelRegistry {
  const kit = server.kit as Tunekit & { registry?: ModelRegistry };
  const id = server.options.registryService ?? REGISTRY_SERVICE_ID;
  const registry = kit.has({ id }) ? kit.get<ModelRegistry>({ id }) : undefined;
  if (!registry) {
    throw tunekitError(
      'NOT_IMPLEMENTED',
      'No model registry is installed (add registryPlugin() from @tunekit/registry to the kit)',
    );
  }
  return registry;
}

const ReferenceParamsSchema = z.object({
  /** A version id, or `name`, `name@production`, `name@3`, `name@<alias>`. */
  id: z.string().min(1).max(190),
});

const ModelFilterQuerySchema = PageQuerySchema.extend({
  name: z.string().min(1).max(128).optional(),
  stage: ModelStageSchema.optional(),
  base_model: z.string().min(1).max(500).optional(),
  language: z.string().min(1).max(50).optional(),
  task: z.string().min(1).max(100).optional(),
  tag: z.string().min(1).max(100).optional(),
});

function filtersOf(query: z.output<typeof ModelFilterQuerySchema>) {
  return {
    name: query.name,
    stage: query.stage,
    baseModel: query.base_model,
    language: query.language,
    task: query.task,
    tags: query.tag ? [query.tag] : undefined,
  };
}

const TransitionBodySchema = z.object({ reason: z.string().max(1000).optional() }).strict();

async function requireVersion(registry: ModelRegistry, reference: string) {
  const version = await registry.get(reference);
  if (!version) throw tunekitError('NOT_FOUND', `No model version "${reference}"`);
  return version;
}

/** Model registry routes: list, search, register, get, card, recommend, transition, deploy, rollback. */
export const modelRoutes = [
  defineRoute({
    method: 'GET',
    path: '/models',
    operationId: 'listModels',
    summary: 'List model versions (filters: name, stage, base_model, language, task, tag)',
    tag: 'models',
    access: 'models:read',
    query: ModelFilterQuerySchema,
    response: pageOf(ModelVersionSchema),
    handler: async ({ server, query }) =>
      registryOf(server).search({ ...filtersOf(query), limit: query.limit ?? 20, cursor: query.cursor }),
  }),
  defineRoute({
    method: 'GET',
    path: '/models/search',
    operationId: 'searchModels',
    summary: 'Search model versions by text and filters',
    tag: 'models',
    access: 'models:read',
    query: ModelFilterQuerySchema.extend({ q: z.string().min(1).max(1000).optional() }),
    response: pageOf(ModelVersionSchema),
    handler: async ({ server, query }) =>
      registryOf(server).search({
        ...filtersOf(query),
        text: query.q,
        limit: query.limit ?? 20,
        cursor: query.cursor,
      }),
  }),
  defineRoute({
    method: 'POST',
    path: '/models',
    operationId: 'registerModel',
    summary:
      'Register a model version from an artifact in the store (yours: inside an output of your job, unless admin)',
    tag: 'models',
    access: 'models:register',
    body: z
      .object({
        name: ModelNameSchema,
        artifactUri: z.string().regex(/^artifact:\/\/[^\s]+$/, 'must be an artifact:// URI'),
        baseModel: z.string().min(1).max(500).optional(),
        task: z.string().min(1).max(100).optional(),
        language: z.union([z.string().min(1).max(50), z.array(z.string().min(1).max(50))]).optional(),
        metrics: z.record(z.string(), z.number()).optional(),
        tags: z.array(z.string().min(1).max(100)).max(50).optional(),
        description: z.string().max(10_000).optional(),
        trainingJobId: z.string().min(1).max(200).optional(),
        datasetVersionId: z.string().min(1).max(200).optional(),
      })
      .strict(),
    response: ModelVersionSchema,
    status: 201,
    handler: async ({ kit, server, principal, body, operation, serviceAudited }) => {
      if (body.trainingJobId) {
        const job = await kit.jobs.get(body.trainingJobId);
        if (!job || !kit.policy.can(principal, 'jobs:read', { owner: job.owner, id: job.id })) {
          throw tunekitError('JOB_NOT_FOUND', `No job "${body.trainingJobId}"`);
        }
      }
      // A registered name belongs to whoever registered its first version: only they and admins
      // add versions (else another user's `alice-model@2` would be what Alice's clients serve).
      const registry = registryOf(server);
      const first = (await registry.versions(body.name))[0];
      if (first && first.createdBy !== principal?.id && !principal?.roles.includes('admin')) {
        throw tunekitError(
          'FORBIDDEN',
          `Model "${body.name}" belongs to another user; only its owner or an admin adds versions`,
          { name: body.name },
        );
      }
      // The artifact must be the caller's (inside an output of their job) unless they are an admin:
      // registering writes README.md and model-card.json into the artifact's folder.
      await assertOwnsArtifact(kit, principal, body.artifactUri, body.trainingJobId);
      // model.register is audited on success; its own input check runs before its audit wrapper.
      return serviceAudited(registry.register(body, operation));
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/models/{id}',
    operationId: 'getModel',
    summary: 'Get a model version by id or reference (name@stage, name@version, name@alias)',
    tag: 'models',
    access: 'models:read',
    params: ReferenceParamsSchema,
    response: ModelVersionSchema,
    handler: async ({ server, params }) => requireVersion(registryOf(server), params.id),
  }),
  defineRoute({
    method: 'GET',
    path: '/models/{id}/card',
    operationId: 'getModelCard',
    summary: 'Model card of a version',
    tag: 'models',
    access: 'models:read',
    params: ReferenceParamsSchema,
    response: ModelCardSchema,
    handler: async ({ server, params }) => {
      const registry = registryOf(server);
      return registry.card((await requireVersion(registry, params.id)).id);
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/models/recommend',
    operationId: 'recommendModels',
    summary: 'Recommend model versions by embedding similarity to a text or another model',
    tag: 'models',
    access: 'models:read',
    mutating: false,
    body: z
      .object({
        query: z.string().min(1).max(10_000).optional(),
        model_id: z.string().min(1).max(190).optional(),
        k: z.number().int().min(1).max(100).default(5),
        task: z.string().min(1).max(100).optional(),
        language: z.string().min(1).max(50).optional(),
        stage: ModelStageSchema.optional(),
      })
      .strict()
      .refine(
        (body) => (body.query === undefined) !== (body.model_id === undefined),
        'give either query or model_id',
      ),
    response: z.object({ items: z.array(z.object({ model: ModelVersionSchema, score: z.number() })) }),
    handler: async ({ server, body }) => {
      const filters = { task: body.task, language: body.language, stage: body.stage };
      const hasFilters = Object.values(filters).some((value) => value !== undefined);
      const items = await registryOf(server).recommend({
        ...(body.query !== undefined ? { text: body.query } : { modelId: body.model_id }),
        k: body.k,
        ...(hasFilters ? { filters } : {}),
      });
      return { items };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/models/{id}/transition',
    operationId: 'transitionModel',
    summary: 'Move a version to a stage (the previous production version is archived)',
    tag: 'models',
    access: 'models:transition',
    params: ReferenceParamsSchema,
    body: TransitionBodySchema.extend({ stage: ModelStageSchema }),
    response: ModelVersionSchema,
    // The registry audits stage changes on success and failure (the stage is checked here first).
    handler: async ({ server, params, body, operation, serviceAudited }) => {
      const registry = registryOf(server);
      const version = await requireVersion(registry, params.id);
      return serviceAudited(registry.transition(version.id, body.stage, { reason: body.reason }, operation), {
        failures: true,
      });
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/models/{id}/deploy',
    operationId: 'deployModel',
    summary: 'Deploy a version to production',
    tag: 'models',
    access: 'models:transition',
    params: ReferenceParamsSchema,
    body: TransitionBodySchema.default({}),
    response: ModelVersionSchema,
    handler: async ({ server, params, body, operation, serviceAudited }) => {
      const registry = registryOf(server);
      const version = await requireVersion(registry, params.id);
      return serviceAudited(registry.deploy(version.id, { reason: body.reason }, operation), {
        failures: true,
      });
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/models/{id}/rollback',
    operationId: 'rollbackModel',
    summary: 'Roll a registered model (by name) back to its previous production version',
    tag: 'models',
    access: 'models:transition',
    params: z.object({ id: ModelNameSchema }),
    body: TransitionBodySchema.default({}),
    response: ModelVersionSchema,
    handler: async ({ server, params, body, operation, serviceAudited }) =>
      serviceAudited(registryOf(server).rollback(params.id, { reason: body.reason }, operation), {
        failures: true,
      }),
  }),
];
