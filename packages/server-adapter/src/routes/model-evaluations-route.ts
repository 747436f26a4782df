import { type Evaluation, EvaluationSchema, ModelStageSchema, tunekitError } from '@tunekit/core';
import { z } from 'zod';
import { registryOf } from './model-routes.js';
import { defineRoute } from './route-definition.js';

/** Most stored evaluations scanned per request (newest first). */
const MAX_SCANNED_EVALUATIONS = 2000;

/** `GET /models/{name}/evaluations` response: a model's versions and the evaluations of each. */
export const ModelEvaluationsSchema = z.object({
  name: z.string(),
  versions: z.array(
    z.object({
      id: z.string(),
      versionNumber: z.number().int(),
      stage: ModelStageSchema,
      /** Metrics registered with the version (training loss, validation loss …). */
      metrics: z.record(z.string(), z.number()),
      createdAt: z.string(),
    }),
  ),
  /** Stored evaluations of the model's versions, oldest first, each with the version it evaluated. */
  evaluations: z.array(EvaluationSchema.extend({ versionId: z.string() })),
});

/**
 * `GET /models/{name}/evaluations`: evaluation results of a model over its versions (the
 * dashboard's model page): every version with its registered metrics, and the stored evaluations
 * (`tunekit eval`, `POST /evaluate/{model_id}`) whose model is one of its versions, by id
 * (`name@3`) or by a reference that names it (`name@production`, resolved now).
 */
export const modelEvaluationsRoute = defineRoute({
  method: 'GET',
  path: '/models/{id}/evaluations',
  operationId: 'getModelEvaluations',
  summary: 'Evaluation results of a model over its versions',
  tag: 'models',
  access: 'models:read',
  params: z.object({ id: z.string().min(1).max(128) }),
  response: ModelEvaluationsSchema,
  handler: async ({ kit, server, params }) => {
    const registry = registryOf(server);
    const versions = await registry.versions(params.id);
    if (versions.length === 0) {
      throw tunekitError('NOT_FOUND', `No model "${params.id}"`);
    }
    const versionIds = new Set(versions.map((version) => version.id));
    const resolved = new Map<string, string | undefined>();
    const versionOf = async (modelId: string) => {
      if (versionIds.has(modelId)) return modelId;
      if (modelId !== params.id && !modelId.startsWith(`${params.id}@`)) return undefined;
      if (!resolved.has(modelId)) {
        resolved.set(modelId, (await registry.get(modelId).catch(() => undefined))?.id);
      }
      return resolved.get(modelId);
    };
    const evaluations: Array<Evaluation & { versionId: string }> = [];
    let cursor: string | undefined;
    let scanned = 0;
    do {
      const page = await kit.evaluators.listEvaluations({ limit: 500, cursor });
      for (const evaluation of page.items) {
        const versionId = evaluation.status === 'succeeded' ? await versionOf(evaluation.modelId) : undefined;
        if (versionId) evaluations.push({ ...evaluation, versionId });
      }
      scanned += page.items.length;
      cursor = page.nextCursor;
    } while (cursor !== undefined && scanned < MAX_SCANNED_EVALUATIONS);
    evaluations.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    return {
      name: params.id,
      versions: versions
        .map((version) => ({
          id: version.id,
          versionNumber: version.versionNumber,
          stage: version.stage,
          metrics: version.metrics,
          createdAt: version.createdAt,
        }))
        .sort((a, b) => a.versionNumber - b.versionNumber),
      evaluations,
    };
  },
});
