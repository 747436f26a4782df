import {
  ABTestSchema,
  ABTestStatusSchema,
  ABTestUnitSchema,
  SuccessMetricSchema,
  TunekitError,
} from '@tunekit/core';
import { z } from 'zod';
import { IdParamsSchema, JsonObjectSchema, PageQuerySchema, pageOf } from './common-schemas.js';
import { defineRoute } from './route-definition.js';

/** `POST /ab-tests` body. */
export const CreateABTestRequestSchema = z
  .object({
    name: z.string().min(1).max(256),
    description: z.string().max(10_000).optional(),
    variants: z
      .array(
        z.object({
          modelId: z.string().min(1).max(200),
          weight: z.number().min(0),
          name: z.string().min(1).max(128).optional(),
        }),
      )
      .min(2)
      .max(20),
    successMetric: SuccessMetricSchema.partial({ direction: true }),
    minSamplesPerVariant: z.number().int().min(1).optional(),
    alpha: z.number().gt(0).lt(1).optional(),
    seed: z.string().min(1).max(200).optional(),
  })
  .strict();

const UnitSchema = z.object({ unit_id: z.string().min(1).max(200) });

async function requireTest(kit: import('@tunekit/core').Tunekit, id: string) {
  const test = await kit.abTests.get(id);
  if (!test) throw new TunekitError({ code: 'NOT_FOUND', status: 404, message: `No A/B test "${id}"` });
  return test;
}

/** A/B test routes: create, list, get, assign, record, results, stop. */
export const abTestRoutes = [
  defineRoute({
    method: 'POST',
    path: '/ab-tests',
    operationId: 'createABTest',
    summary: 'Create an A/B test between model variants',
    tag: 'ab-tests',
    access: 'abtests:manage',
    body: CreateABTestRequestSchema,
    response: ABTestSchema,
    status: 201,
    // abtest.create is audited on success only.
    handler: async ({ kit, body, operation, serviceAudited }) =>
      serviceAudited(kit.abTests.create(body, operation)),
  }),
  defineRoute({
    method: 'GET',
    path: '/ab-tests',
    operationId: 'listABTests',
    summary: 'List A/B tests',
    tag: 'ab-tests',
    access: 'abtests:read',
    query: PageQuerySchema.extend({ status: ABTestStatusSchema.optional() }),
    response: pageOf(ABTestSchema),
    handler: async ({ kit, query }) => kit.abTests.list(query),
  }),
  defineRoute({
    method: 'GET',
    path: '/ab-tests/{id}',
    operationId: 'getABTest',
    summary: 'Get an A/B test',
    tag: 'ab-tests',
    access: 'abtests:read',
    params: IdParamsSchema,
    response: ABTestSchema,
    handler: async ({ kit, params }) => requireTest(kit, params.id),
  }),
  defineRoute({
    method: 'POST',
    path: '/ab-tests/{id}/assign',
    operationId: 'assignABTest',
    summary: 'Assign a unit (user, session) to a variant (deterministic)',
    tag: 'ab-tests',
    access: 'abtests:read',
    mutating: false,
    params: IdParamsSchema,
    body: UnitSchema,
    response: z.object({
      testId: z.string(),
      variant: z.string(),
      modelId: z.string(),
      inExperiment: z.boolean(),
      bucket: z.number(),
    }),
    handler: async ({ kit, params, body }) => kit.abTests.assign(params.id, body.unit_id),
  }),
  defineRoute({
    method: 'POST',
    path: '/ab-tests/{id}/record',
    operationId: 'recordABTest',
    summary: 'Record an exposure or an outcome of a unit',
    tag: 'ab-tests',
    access: 'feedback:create',
    params: IdParamsSchema,
    body: UnitSchema.extend({
      exposure: z.literal(true).optional(),
      outcome: z.union([z.number(), z.boolean()]).optional(),
    }).refine(
      (body) => (body.exposure === true) !== (body.outcome !== undefined),
      'give either exposure: true or an outcome',
    ),
    response: ABTestUnitSchema,
    handler: async ({ kit, params, body, operation }) =>
      kit.abTests.record(
        params.id,
        body.unit_id,
        body.outcome !== undefined ? { outcome: body.outcome } : { exposure: true },
        operation,
      ),
  }),
  defineRoute({
    method: 'GET',
    path: '/ab-tests/{id}/results',
    operationId: 'getABTestResults',
    summary: 'Per-variant results, significance, sample ratio check and winner',
    tag: 'ab-tests',
    access: 'abtests:read',
    params: IdParamsSchema,
    response: JsonObjectSchema,
    handler: async ({ kit, params }) =>
      (await kit.abTests.results(params.id)) as unknown as Record<string, unknown>,
  }),
  defineRoute({
    method: 'POST',
    path: '/ab-tests/{id}/stop',
    operationId: 'stopABTest',
    summary: 'Stop an A/B test, optionally naming the winner',
    tag: 'ab-tests',
    access: 'abtests:manage',
    params: IdParamsSchema,
    body: z
      .object({ winner: z.string().min(1).max(128).optional(), reason: z.string().max(1000).optional() })
      .strict()
      .default({}),
    response: ABTestSchema,
    // abtest.stop audits its update, not the checks before it (unknown test, already completed).
    handler: async ({ kit, params, body, operation, serviceAudited }) =>
      serviceAudited(kit.abTests.stop(params.id, body, operation)),
  }),
];
