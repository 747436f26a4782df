import { JobStatusSchema, tunekitError } from '@tunekit/core';
import { z } from 'zod';
import { assertMayAddDatasetVersion } from './dataset-ownership.js';
import { FeedbackFilterQuerySchema } from './feedback-routes.js';
import { defineRoute } from './route-definition.js';
import { getTrainingRoute, submitTrainingJob, TrainRequestSchema } from './training-routes.js';

/**
 * `POST /rlhf` body: preference tuning (DPO) from user feedback. Without
 * `dataset_version_id`, the matching feedback is exported as preference pairs first (corrections:
 * the corrected text is chosen over the model's output; low ratings: the best-rated output for the
 * same input is chosen); then a DPO `train` job runs on them.
 */
export const RlhfRequestSchema = TrainRequestSchema.omit({ dataset_version_id: true, dpo: true })
  .extend({
    /** An existing `{ prompt, chosen, rejected }` dataset version; omit it to export feedback. */
    dataset_version_id: z.string().min(1).max(200).optional(),
    /** Which feedback to export (e.g. `{ modelId }`); ignored with `dataset_version_id`. */
    feedback_filter: FeedbackFilterQuerySchema.optional(),
    /** DPO's β (TRL's default 0.1). */
    beta: z.number().positive().max(100).default(0.1),
  })
  .strict();

/** `POST /rlhf` response: the job and the preference data it trains on. */
export const RlhfAcceptedSchema = z.object({
  job_id: z.string(),
  status: JobStatusSchema,
  dataset_version_id: z.string(),
  /** Preference pairs exported from feedback (absent when a dataset version was given). */
  pairs: z.number().int().optional(),
});

/** RLHF routes: start a DPO run from feedback, and its status (an alias of `GET /train/{id}`). */
export const rlhfRoutes = [
  defineRoute({
    method: 'POST',
    path: '/rlhf',
    operationId: 'startRlhf',
    summary: 'Export feedback as preference pairs and start a DPO training job on them',
    tag: 'training',
    access: 'jobs:create',
    body: RlhfRequestSchema,
    response: RlhfAcceptedSchema,
    status: 202,
    handler: async ({ kit, server, principal, body, operation }) => {
      const { dataset_version_id: given, feedback_filter: filter, beta, ...training } = body;
      let datasetVersionId = given;
      let pairs: number | undefined;
      if (!datasetVersionId) {
        // Exporting reads every user's feedback: the caller needs that right too.
        kit.policy.assertCan(principal, 'feedback:read');
        await assertMayAddDatasetVersion(kit, principal, `rlhf-${training.output_name}`);
        const exported = await kit.feedback.export(
          { as: 'preference', filter, name: `rlhf-${training.output_name}` },
          operation,
        );
        if (exported.rows === 0) {
          throw tunekitError(
            'DATASET_EMPTY',
            'No preference pairs in the matching feedback (it needs corrections, or low and high ratings of the same input)',
            { skipped: exported.skipped, filter },
          );
        }
        datasetVersionId = exported.version.id;
        pairs = exported.rows;
      }
      const accepted = await submitTrainingJob(kit, server, principal, {
        ...training,
        dataset_version_id: datasetVersionId,
        dpo: { beta },
      });
      return { ...accepted, dataset_version_id: datasetVersionId, ...(pairs === undefined ? {} : { pairs }) };
    },
  }),
  defineRoute({
    ...getTrainingRoute,
    path: '/rlhf/{id}',
    operationId: 'getRlhf',
    summary: 'Status of an RLHF (DPO) job; alias of GET /train/{id}',
  }),
];
