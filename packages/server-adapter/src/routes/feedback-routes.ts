import { DatasetVersionSchema, FeedbackSchema } from '@tunekit/core';
import { z } from 'zod';
import { assertAssignedUnit } from './ab-test-routes.js';
import { JsonObjectSchema, PageQuerySchema, pageOf } from './common-schemas.js';
import { assertMayAddDatasetVersion } from './dataset-ownership.js';
import { defineRoute } from './route-definition.js';

/** `POST /feedback` body; `userId` is the caller unless an admin records for someone else. */
export const RecordFeedbackRequestSchema = z
  .object({
    modelId: z.string().min(1).max(200),
    userId: z.string().min(1).max(200).optional(),
    sessionId: z.string().min(1).max(200).optional(),
    input: z.string().max(100_000),
    output: z.string().max(100_000),
    correctedText: z.string().max(100_000).optional(),
    rating: z.number().optional(),
    type: z.string().max(100).optional(),
    transformationType: z.string().max(100).optional(),
    tags: z.array(z.string().min(1).max(100)).max(50).optional(),
    abTestId: z.string().min(1).max(200).optional(),
    unitId: z.string().min(1).max(200).optional(),
    /**
     * With `abTestId`: the `exposure_token` that `POST /ab-tests/{id}/assign` returned for the unit
     * (`unitId`, default the user id); required unless the caller holds `abtests:record`.
     */
    exposureToken: z.string().min(1).max(4096).optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

/** Filters of the feedback list and statistics. */
export const FeedbackFilterQuerySchema = z.object({
  modelId: z.string().min(1).max(200).optional(),
  userId: z.string().min(1).max(200).optional(),
  abTestId: z.string().min(1).max(200).optional(),
  type: z.string().min(1).max(100).optional(),
  from: z.iso.datetime().optional(),
  to: z.iso.datetime().optional(),
});

/** Feedback routes: record, list, stats, export. */
export const feedbackRoutes = [
  defineRoute({
    method: 'POST',
    path: '/feedback',
    operationId: 'recordFeedback',
    summary: 'Record feedback (rating, correction) on a model output',
    tag: 'feedback',
    access: 'feedback:create',
    body: RecordFeedbackRequestSchema,
    response: FeedbackSchema,
    status: 201,
    handler: async ({ kit, server, principal, body, operation, serviceAudited }) => {
      const admin = kit.policy.can(principal, 'feedback:read');
      const userId = admin && body.userId ? body.userId : (principal?.id ?? 'anonymous');
      const { exposureToken, ...feedback } = body;
      // Feedback on an A/B test counts as the unit's outcome: only for units the server assigned.
      if (feedback.abTestId !== undefined) {
        assertAssignedUnit(server, principal, feedback.abTestId, feedback.unitId ?? userId, exposureToken);
      }
      return serviceAudited(kit.feedback.record({ ...feedback, userId }, operation));
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/feedback',
    operationId: 'listFeedback',
    summary: 'List feedback (admin)',
    tag: 'feedback',
    access: 'feedback:read',
    query: PageQuerySchema.extend(FeedbackFilterQuerySchema.shape),
    response: pageOf(FeedbackSchema),
    handler: async ({ kit, query }) => kit.feedback.list(query),
  }),
  defineRoute({
    method: 'GET',
    path: '/feedback/stats',
    operationId: 'getFeedbackStats',
    summary: 'Feedback statistics, optionally grouped by day, model or variant',
    tag: 'feedback',
    access: 'feedback:read',
    query: FeedbackFilterQuerySchema.extend({ groupBy: z.enum(['day', 'model', 'variant']).optional() }),
    response: JsonObjectSchema,
    handler: async ({ kit, query }) =>
      (await kit.feedback.stats(query)) as unknown as Record<string, unknown>,
  }),
  defineRoute({
    method: 'POST',
    path: '/feedback/export',
    operationId: 'exportFeedback',
    summary: 'Export corrections and ratings as an SFT or preference dataset version',
    tag: 'feedback',
    access: 'feedback:read',
    body: z
      .object({
        as: z.enum(['sft', 'preference']),
        name: z
          .string()
          .min(1)
          .max(128)
          .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/)
          .optional(),
        filter: FeedbackFilterQuerySchema.optional(),
        lowRatingThreshold: z.number().optional(),
        description: z.string().max(10_000).optional(),
      })
      .strict(),
    response: z.object({ version: DatasetVersionSchema, rows: z.number().int(), skipped: z.number().int() }),
    // feedback.export (and the dataset.register of the exported version) are audited on success.
    handler: async ({ kit, principal, body, operation, serviceAudited }) => {
      // The exported version joins a dataset: the caller must own it (or be an admin) when it exists.
      await assertMayAddDatasetVersion(kit, principal, body.name ?? `feedback-${body.as}`);
      return serviceAudited(kit.feedback.export(body, operation));
    },
  }),
];
