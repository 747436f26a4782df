import { z } from 'zod';
import { mergeTrainingCurves, storedTrainingCurves } from '../server/stored-training-curves.js';
import { IdParamsSchema } from './common-schemas.js';
import { defineRoute } from './route-definition.js';
import { ownedJob } from './training-routes.js';

/** `GET /train/{id}/metrics` response: a run's curves for charts. */
export const TrainingMetricsSchema = z.object({
  job_id: z.string(),
  steps: z.array(
    z.object({
      step: z.number().int(),
      loss: z.number(),
      learning_rate: z.number(),
      tokens_per_second: z.number().optional(),
    }),
  ),
  evaluations: z.array(z.object({ step: z.number().int(), metrics: z.record(z.string(), z.number()) })),
});

/**
 * `GET /train/{id}/metrics`: loss, learning rate and tokens/s per step and the validation metrics
 * of a run: what this server saw live (kept in memory, most recent runs), preceded by what the
 * kit's trackers stored for the steps it did not see (`kit.trackers.jobMetrics`: the local
 * tracker's `metrics.jsonl`), so runs trained before the server started, or by another process's
 * worker on the same data directory, have curves too. The dashboard's charts and run comparison
 * read it, then follow `GET /train/{id}/events` live.
 */
export const trainingMetricsRoute = defineRoute({
  method: 'GET',
  path: '/train/{id}/metrics',
  operationId: 'getTrainingMetrics',
  summary: 'Loss, learning rate, tokens/s per step and validation metrics of a training run',
  tag: 'training',
  access: 'jobs:read',
  params: IdParamsSchema,
  response: TrainingMetricsSchema,
  handler: async ({ kit, server, principal, params }) => {
    const job = await ownedJob(kit, principal, params.id, 'jobs:read');
    const live = server.history.curves(job.id);
    // The stored points are read only when the live series does not start at the first step.
    const complete = live.steps.length > 0 && (live.steps[0]?.step ?? 0) <= 1;
    const curves = complete
      ? live
      : mergeTrainingCurves(storedTrainingCurves(await kit.trackers.jobMetrics(job.id)), live);
    return {
      job_id: job.id,
      steps: curves.steps.map((point) => ({
        step: point.step,
        loss: point.loss,
        learning_rate: point.learningRate,
        tokens_per_second: point.tokensPerSecond,
      })),
      evaluations: curves.evaluations,
    };
  },
});
