import { type FinishedJob, type Job, TrainingJobInputSchema, trainingOutputUri } from '@tunekit/core';
import type { ModelRegistry, RegisterModelInput } from './model-registry.js';

const numericMetricNames = ['finalLoss', 'bestValidationLoss', 'finalPerplexity', 'tokensPerSecond', 'steps'];

/** A training job as the registry reads it: a job record, or a job finishing (`FinishedJob`). */
export type TrainingJobLike = Pick<Job, 'id' | 'input' | 'output' | 'owner'> | FinishedJob;

/**
 * Builds the registration of a finished training job's output (core's `TrainingJobInput` and
 * `TrainingJobOutput`), or undefined when the job did not ask for one (`input.registerAs`) or
 * produced no output. Artifact URI: `output.output` (else `artifact://models/<outputName>`); metrics:
 * the numeric output fields (`finalLoss`, `bestValidationLoss`, `finalPerplexity`,
 * `tokensPerSecond`, `steps`); training parameters: the hyper-parameters, LoRA settings and device.
 */
export function registrationFromTrainingJob(job: TrainingJobLike): RegisterModelInput | undefined {
  const parsed = TrainingJobInputSchema.safeParse(job.input);
  if (!parsed.success || parsed.data.registerAs === undefined) return undefined;
  const input = parsed.data;
  const registerAs = input.registerAs;
  if (registerAs === undefined) return undefined;
  const output = (job.output ?? {}) as Record<string, unknown>;
  const artifactUri =
    typeof output.output === 'string' && output.output.length > 0
      ? output.output
      : trainingOutputUri(input, job.id);
  if (artifactUri === undefined) return undefined;
  const metrics: Record<string, number> = {};
  for (const name of numericMetricNames) {
    const value = output[name];
    if (typeof value === 'number' && Number.isFinite(value)) metrics[name] = value;
  }
  const datasetVersionId = 'versionId' in input.dataset ? input.dataset.versionId : undefined;
  return {
    name: registerAs.name,
    artifactUri,
    baseModel: registerAs.baseModel ?? input.baseModel,
    baseModelRelation: input.lora === undefined ? 'finetune' : 'adapter',
    libraryName: input.lora === undefined ? undefined : 'peft',
    task: registerAs.task,
    language: registerAs.language,
    license: registerAs.license,
    description: registerAs.description,
    tags: registerAs.tags,
    metrics,
    trainingParameters: {
      ...input.hyperparameters,
      ...(input.lora === undefined ? {} : { lora: input.lora }),
      device: input.device,
    },
    trainingJobId: job.id,
    datasetVersionId,
    datasets: datasetVersionId === undefined ? undefined : [datasetVersionId],
  };
}

/**
 * Registers a training job's output when its input has `registerAs` (see
 * {@link registrationFromTrainingJob}). Idempotent: when a version of that name already records this
 * job as its `trainingJobId`, that version is returned. Returns undefined when nothing is to register.
 * The registry plugin calls it as a job completion step, before the job is `succeeded`.
 */
export async function registerFromTrainingJob(registry: ModelRegistry, job: TrainingJobLike) {
  const registration = registrationFromTrainingJob(job);
  if (registration === undefined) return undefined;
  const existing = (await registry.versions(registration.name)).find(
    (version) => version.trainingJobId === job.id,
  );
  if (existing !== undefined) return existing;
  return registry.register(registration, { actor: job.owner ?? 'system' });
}
