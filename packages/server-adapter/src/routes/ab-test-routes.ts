import {
  ABTestSchema,
  ABTestStatusSchema,
  ABTestUnitSchema,
  type Principal,
  SuccessMetricSchema,
  tunekitError,
} from '@tunekit/core';
import { z } from 'zod';
import type { ServerContext } from '../server/server-context.js';
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
  if (!test) throw tunekitError('NOT_FOUND', `No A/B test "${id}"`);
  return test;
}

/**
 * Checks that the server assigned `unitId` of test `testId` to this caller (`exposure_token` from
 * `assign`), unless the caller holds `abtests:record` (a trusted backend). Without a token: 400
 * `VALIDATION_FAILED`; a forged, expired or mismatched one: 403 `ABTEST_EXPOSURE_INVALID`. So outcomes
 * cannot be recorded for invented unit ids.
 */
export function assertAssignedUnit(
  server: ServerContext,
  principal: Principal | undefined,
  testId: string,
  unitId: string,
  token: string | undefined,
): void {
  if (server.kit.policy.can(principal, 'abtests:record')) return;
  if (token === undefined) {
    throw tunekitError(
      'VALIDATION_FAILED',
      'Invalid request body: exposure_token: required (the token POST /ab-tests/{id}/assign returned for this unit)',
      {
        issues: [{ path: 'exposure_token', message: 'required without the abtests:record permission' }],
      },
    );
  }
  server.exposureTokens.verify(token, { testId, unitId, principal: principal?.id ?? 'anonymous' });
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
      /**
       * Signed proof that the server assigned this unit, for this caller: `POST /ab-tests/{id}/record`
       * and `POST /feedback` with `ab_test_id` require it (unless the caller holds `abtests:record`).
       */
      exposureToken: z.string(),
      /** When the token stops being accepted (`limits.exposureTokenTtlMs` after assignment). */
      exposureTokenExpiresAt: z.string(),
    }),
    handler: async ({ kit, server, principal, params, body }) => {
      const assignment = await kit.abTests.assign(params.id, body.unit_id);
      const { token, expiresAt } = server.exposureTokens.issue({
        testId: assignment.testId,
        unitId: body.unit_id,
        variant: assignment.variant,
        principal: principal?.id ?? 'anonymous',
      });
      return { ...assignment, exposureToken: token, exposureTokenExpiresAt: expiresAt };
    },
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
      /** The `exposure_token` that `assign` returned for this unit (required without `abtests:record`). */
      exposure_token: z.string().min(1).max(4096).optional(),
    }).refine(
      (body) => (body.exposure === true) !== (body.outcome !== undefined),
      'give either exposure: true or an outcome',
    ),
    response: ABTestUnitSchema,
    handler: async ({ kit, server, principal, params, body, operation }) => {
      assertAssignedUnit(server, principal, params.id, body.unit_id, body.exposure_token);
      return kit.abTests.record(
        params.id,
        body.unit_id,
        body.outcome !== undefined ? { outcome: body.outcome } : { exposure: true },
        operation,
      );
    },
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
