import type { TrainingJobInput } from '@tunekit/core';
import type { TrainingOptionsInput } from '../train/training-options.js';

/**
 * The trainer's training options for a `train` job (core's `TrainingJobInput`): hyper-parameters
 * under the trainer's names (`schedule` + `warmupSteps` → `schedule: { kind, warmupSteps }`,
 * `weightDecay` → `adamW.weightDecay`, `checkpointEvery` → `checkpoint.every`) and `dpo`.
 */
export function trainingOptionsFromJob(input: TrainingJobInput): TrainingOptionsInput {
  // `gradientCheckpointing` shapes the graph: it goes to `createTrainer`, not to `train`.
  const {
    schedule,
    warmupSteps,
    weightDecay,
    checkpointEvery,
    gradientCheckpointing: _graph,
    ...rest
  } = input.hyperparameters;
  const defined = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined));
  return {
    ...defined,
    ...(schedule === undefined && warmupSteps === undefined
      ? {}
      : { schedule: { kind: schedule ?? 'linear', warmupSteps: warmupSteps ?? 0 } }),
    ...(weightDecay === undefined ? {} : { adamW: { weightDecay } }),
    ...(checkpointEvery === undefined ? {} : { checkpoint: { every: checkpointEvery } }),
    ...(input.dpo === undefined ? {} : { dpo: input.dpo }),
  } as TrainingOptionsInput;
}
