import { z } from 'zod';
import { ModelNameSchema } from './model-name.js';
import { BaseModelRelationSchema, ModelStageSchema, ModelTagSchema } from './model-version.js';

/** One evaluation result of a card (Hugging Face `model-index` results entry). */
export const ModelCardResultSchema = z.object({
  task: z.object({ type: z.string().min(1), name: z.string().min(1).optional() }),
  dataset: z.object({ type: z.string().min(1), name: z.string().min(1) }),
  metrics: z
    .array(z.object({ type: z.string().min(1), value: z.number(), name: z.string().optional() }))
    .min(1),
});

/** One evaluation result of a model card. */
export type ModelCardResult = z.infer<typeof ModelCardResultSchema>;

/**
 * A model card: what the Hugging Face Hub reads from a README's YAML front matter (`language`,
 * `license`, `library_name`, `tags`, `datasets`, `metrics`, `base_model`, `base_model_relation`,
 * `pipeline_tag`, `model-index`) plus the text of its sections (Model Details, Uses, Bias/Risks/
 * Limitations, Training Details, Evaluation, How to Get Started). Generated per model version by the
 * registry, stored as JSON and rendered as `README.md` next to the model's artifacts.
 */
export const ModelCardSchema = z.object({
  /** Model version id (`<name>@<n>`). */
  id: z.string().min(1),
  name: ModelNameSchema,
  versionNumber: z.number().int().positive(),
  stage: ModelStageSchema,
  description: z.string().max(10_000),
  language: z.array(z.string().min(1)),
  license: z.string().min(1).optional(),
  libraryName: z.string().min(1).optional(),
  tags: z.array(ModelTagSchema),
  datasets: z.array(z.string().min(1)),
  /** Metric names (front matter `metrics`). */
  metricNames: z.array(z.string().min(1)),
  /** Metric values (Evaluation section, `model-index`). */
  metrics: z.record(z.string(), z.number()),
  baseModel: z.string().min(1).optional(),
  baseModelRelation: BaseModelRelationSchema.optional(),
  /** Task as a Hugging Face pipeline tag. */
  pipelineTag: z.string().min(1).optional(),
  results: z.array(ModelCardResultSchema),
  intendedUse: z.string(),
  outOfScopeUse: z.string(),
  limitations: z.string(),
  trainingParameters: z.record(z.string(), z.unknown()),
  trainingJobId: z.string().min(1).optional(),
  datasetVersionId: z.string().min(1).optional(),
  parentVersionId: z.string().min(1).optional(),
  artifactUri: z.string().min(1),
  /** A short code sample for the How to Get Started section. */
  gettingStarted: z.string(),
  generatedAt: z.string(),
  version: z.number().int().min(0).default(0),
});

/** A model card. */
export type ModelCard = z.infer<typeof ModelCardSchema>;
