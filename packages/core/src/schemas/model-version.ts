import { z } from 'zod';
import { ModelNameSchema } from './model-name.js';

/** Stage of a model version: `draft → staging → production → archived` (see the registry's transition table). */
export const ModelStageSchema = z.enum(['draft', 'staging', 'production', 'archived']);

/** Stage of a model version. */
export type ModelStage = z.infer<typeof ModelStageSchema>;

/** How a model relates to its base model (Hugging Face `base_model_relation`). */
export const BaseModelRelationSchema = z.enum(['adapter', 'merge', 'quantized', 'finetune']);

/** How a model relates to its base model. */
export type BaseModelRelation = z.infer<typeof BaseModelRelationSchema>;

/** A tag of a model version: 1-64 characters, no control characters. */
export const ModelTagSchema = z
  .string()
  .trim()
  .min(1)
  .max(64)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we reject
  .regex(/^[^\u0000-\u001f\u007f]+$/, 'must not contain control characters');

/**
 * One registered version of a named model. Versions are numbered 1, 2, 3 … per name; the record id is
 * `<name>@<versionNumber>` (e.g. `tone-ja@3`). Lineage points at the training job, the dataset version,
 * the base model and the parent version. `version` is the storage revision used for compare-and-set,
 * not the model version (that is `versionNumber`).
 */
export const ModelVersionSchema = z.object({
  /** `<name>@<versionNumber>`. */
  id: z.string().min(1),
  /** Registered-model name. */
  name: ModelNameSchema,
  /** 1, 2, 3 … per name. */
  versionNumber: z.number().int().positive(),
  stage: ModelStageSchema,
  /** Where the weights or adapter live (an `artifact://` folder or file, or an external URI). */
  artifactUri: z.string().min(1),
  /** Base model (Hugging Face id, path or artifact URI). */
  baseModel: z.string().min(1).optional(),
  baseModelRelation: BaseModelRelationSchema.optional(),
  /** Task, as a Hugging Face pipeline tag (`text-classification`, `text-generation` …). */
  task: z.string().min(1).optional(),
  /** ISO 639-1 language codes. */
  language: z.array(z.string().min(1)).default([]),
  license: z.string().min(1).optional(),
  /** Library that loads the artifact (`peft`, `transformers`, `onnx` …). */
  libraryName: z.string().min(1).optional(),
  /** Evaluation or training metrics (name → value). */
  metrics: z.record(z.string(), z.number()).default({}),
  tags: z.array(ModelTagSchema).default([]),
  description: z.string().max(10_000).default(''),
  /** Dataset names or ids the model was trained on (card `datasets`). */
  datasets: z.array(z.string().min(1)).default([]),
  /** Intended use, shown in the card's Uses section. */
  intendedUse: z.string().max(10_000).optional(),
  /** Known limitations, shown in the card's Bias, Risks and Limitations section. */
  limitations: z.string().max(10_000).optional(),
  /** Hyper-parameters and other training settings. */
  trainingParameters: z.record(z.string(), z.unknown()).default({}),
  /** Lineage: the training job that produced it. */
  trainingJobId: z.string().min(1).optional(),
  /** Lineage: the dataset version it was trained on. */
  datasetVersionId: z.string().min(1).optional(),
  /** Lineage: the version it was derived from (`<name>@<n>`, any name). */
  parentVersionId: z.string().min(1).optional(),
  /** Where the rendered card lives (`artifact://…/README.md`). */
  cardUri: z.string().min(1).optional(),
  /** Who registered it (`system` when unknown). */
  createdBy: z.string().min(1).default('system'),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** When the stage last changed. */
  stageChangedAt: z.string(),
  /** When it last became the production version. */
  deployedAt: z.string().optional(),
  /** Storage revision (compare-and-set). */
  version: z.number().int().min(0).default(0),
});

/** One registered model version. */
export type ModelVersion = z.infer<typeof ModelVersionSchema>;
