import { EvaluationComparisonSchema, EvaluationSchema, type Predictor } from '@tunekit/core';
import { z } from 'zod';
import { assertModelAccess } from '../inference/assert-model-access.js';
import { modelNotServed } from '../inference/model-cache.js';
import type { ServerContext } from '../server/server-context.js';
import { defineRoute } from './route-definition.js';

/** What to evaluate on: a dataset version id, or rows inline (at most 10 000). */
const EvaluationRunSchema = z.object({
  dataset: z.union([
    z.string().min(1).max(200),
    z.object({ rows: z.array(z.record(z.string(), z.unknown())).min(1).max(10_000) }),
  ]),
  evaluators: z.array(z.string().min(1).max(100)).min(1).max(20),
  fields: z
    .object({ input: z.string().optional(), label: z.string().optional(), reference: z.string().optional() })
    .optional(),
  limit: z.number().int().positive().max(100_000).optional(),
  bootstrap_resamples: z.number().int().min(0).max(10_000).optional(),
  seed: z.number().int().optional(),
  name: z.string().max(200).optional(),
  /** Most new tokens per sample for text-generation models (default 32, greedy). */
  max_tokens: z.number().int().min(1).max(1024).default(32),
});

/**
 * The predictor of a served id: a configured classifier, or a generative model the model cache
 * resolves (configured, `job:<id>`, registry versions); its per-token log-probabilities are the
 * model's own, so `perplexity` evaluates the real model. `NOT_FOUND`, naming what is served, otherwise.
 */
async function predictorFor(server: ServerContext, id: string, maxTokens: number): Promise<Predictor> {
  const classifier = server.predictors.get(id);
  if (classifier) return classifier;
  if ((await server.models.describe(id)) === undefined) {
    throw await modelNotServed(server.kit, id, server.models.configured());
  }
  return server.models.predictor(id, { temperature: 0, maxTokens });
}

function runOptions(body: z.output<typeof EvaluationRunSchema>) {
  return {
    dataset: body.dataset,
    evaluators: body.evaluators,
    fields: body.fields,
    limit: body.limit,
    bootstrapResamples: body.bootstrap_resamples,
    seed: body.seed,
    name: body.name,
  };
}

/** `POST /evaluate/{model_id}`: evaluates a served model or classifier with the named evaluators. */
export const evaluateModelRoute = defineRoute({
  method: 'POST',
  path: '/evaluate/{model_id}',
  operationId: 'evaluateModel',
  summary: 'Evaluate one model on a dataset',
  tag: 'evaluation',
  access: 'evaluations:run',
  params: z.object({ model_id: z.string().min(1).max(200) }),
  body: EvaluationRunSchema,
  response: EvaluationSchema,
  handler: async ({ kit, server, principal, params, body, operation, serviceAudited }) => {
    await assertModelAccess(kit, principal, params.model_id);
    // evaluation.run is audited on success; some failures (unknown evaluator, bad dataset) are not.
    return serviceAudited(
      kit.evaluators.evaluate(
        { ...runOptions(body), model: await predictorFor(server, params.model_id, body.max_tokens) },
        operation,
      ),
    );
  },
});

/** `POST /evaluate/compare`: paired comparison of two models on the same samples. */
export const compareModelsRoute = defineRoute({
  method: 'POST',
  path: '/evaluate/compare',
  operationId: 'compareModels',
  summary: 'Compare two models on the same dataset',
  tag: 'evaluation',
  access: 'evaluations:run',
  body: EvaluationRunSchema.extend({
    models: z.tuple([z.string().min(1).max(200), z.string().min(1).max(200)]),
    primary_metric: z.string().optional(),
  }),
  response: EvaluationComparisonSchema,
  handler: async ({ kit, server, principal, body, operation, serviceAudited }) => {
    for (const id of body.models) await assertModelAccess(kit, principal, id);
    // evaluation.compare (after one evaluation.run per model) is audited on success.
    return serviceAudited(
      kit.evaluators.compare(
        {
          ...runOptions(body),
          models: [
            await predictorFor(server, body.models[0], body.max_tokens),
            await predictorFor(server, body.models[1], body.max_tokens),
          ],
          primaryMetric: body.primary_metric,
        },
        operation,
      ),
    );
  },
});

/** Evaluation routes. */
export const evaluationRoutes = [compareModelsRoute, evaluateModelRoute];
