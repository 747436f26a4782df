import { type Job, ModelNameSchema, ModelTagSchema } from '@tunekit/core';
import { z } from 'zod';
import type { ModelRegistry, RegisterModelInput } from './model-registry.js';

/**
 * The `registerAs` option of a training job's input: register the job's output as a new version of
 * this model when the job succeeds. Extra card fields may be given (task, language, license …).
 */
export const RegisterAsSchema = z
  .object({
    name: ModelNameSchema,
    description: z.string().max(10_000).optional(),
    tags: z.array(ModelTagSchema).default([]),
    task: z.string().min(1).optional(),
    language: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(),
    license: z.string().min(1).optional(),
    baseModel: z.string().min(1).optional(),
  })
  .passthrough();

/** The `registerAs` option of a training job. */
export type RegisterAs = z.input<typeof RegisterAsSchema>;

const numericMetricNames = ['finalLoss', 'bestValidationLoss', 'finalPerplexity', 'tokensPerSecond', 'steps'];

/**
 * Builds the registration of a finished training job's output, or undefined when the job did not ask
 * for one (`input.registerAs`) or produced no output. Reads the trainer's job shapes: the output
 * folder (`output.output`, `output.outputUri` or `output.artifactUri`, else `input.outputUri`), base
 * model (`input.baseModel` or `input.model`), numeric metrics of the output (`finalLoss`,
 * `bestValidationLoss`, `finalPerplexity`, `tokensPerSecond`, `steps` and an `output.metrics` map),
 * hyper-parameters (`input.hyperparameters` or `input.options`), LoRA settings and dataset version.
 */
export function registrationFromTrainingJob(job: Job): RegisterModelInput | undefined {
  const input = (job.input ?? {}) as Record<string, unknown>;
  const output = (job.output ?? {}) as Record<string, unknown>;
  const registerAs = RegisterAsSchema.safeParse(input.registerAs);
  if (!registerAs.success) return undefined;
  const artifactUri = [output.output, output.outputUri, output.artifactUri, input.outputUri].find(
    (value): value is string => typeof value === 'string' && value.length > 0,
  );
  if (artifactUri === undefined) return undefined;
  const metrics: Record<string, number> = {};
  for (const name of numericMetricNames) {
    const value = output[name];
    if (typeof value === 'number' && Number.isFinite(value)) metrics[name] = value;
  }
  if (output.metrics !== null && typeof output.metrics === 'object') {
    for (const [name, value] of Object.entries(output.metrics as Record<string, unknown>)) {
      if (typeof value === 'number' && Number.isFinite(value)) metrics[name] = value;
    }
  }
  const hyperparameters = (input.hyperparameters ?? input.options) as Record<string, unknown> | undefined;
  const lora = input.lora as Record<string, unknown> | undefined;
  const baseModel =
    registerAs.data.baseModel ??
    [input.baseModel, input.model].find(
      (value): value is string => typeof value === 'string' && value.length > 0,
    );
  const datasetVersionId = typeof input.datasetVersionId === 'string' ? input.datasetVersionId : undefined;
  return {
    name: registerAs.data.name,
    artifactUri,
    baseModel,
    baseModelRelation: lora === undefined ? 'finetune' : 'adapter',
    libraryName: lora === undefined ? undefined : 'peft',
    task: registerAs.data.task,
    language: registerAs.data.language,
    license: registerAs.data.license,
    description: registerAs.data.description,
    tags: registerAs.data.tags,
    metrics,
    trainingParameters: {
      ...(hyperparameters ?? {}),
      ...(lora === undefined ? {} : { lora }),
      ...(typeof input.device === 'string' ? { device: input.device } : {}),
    },
    trainingJobId: job.id,
    datasetVersionId,
    datasets: datasetVersionId === undefined ? undefined : [datasetVersionId],
  };
}

/**
 * Registers a succeeded training job's output when its input has `registerAs` (see
 * {@link registrationFromTrainingJob}). Idempotent: when a version of that name already records this
 * job as its `trainingJobId`, that version is returned. Returns undefined when nothing is to register.
 */
export async function registerFromTrainingJob(registry: ModelRegistry, job: Job) {
  if (job.status !== 'succeeded') return undefined;
  const registration = registrationFromTrainingJob(job);
  if (registration === undefined) return undefined;
  const existing = (await registry.versions(registration.name)).find(
    (version) => version.trainingJobId === job.id,
  );
  if (existing !== undefined) return existing;
  return registry.register(registration, { actor: job.owner ?? 'system' });
}
