import type { TrainingJobInput } from '@tunekit/core';
import type { TrainingOptionsInput } from '../train/training-options.js';

/** Drops the keys whose value is undefined (the trainer's schema then applies its defaults). */
function defined<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as Partial<T>;
}

/**
 * The trainer's training options for a `train` job (core's `TrainingJobInput`): hyper-parameters
 * under the trainer's names (`schedule`, `warmupSteps`, `minimumLearningRateRatio` →
 * `schedule: { kind, warmupSteps, minimumRatio }`; `weightDecay`, `adamBetas`, `adamEpsilon`,
 * `decoupledWeightDecay`, `biasCorrection` → `adamW`; `checkpointEvery` → `checkpoint.every`), the
 * others as they are, and `dpo`. Every hyper-parameter of the contract reaches the trainer.
 */
export function trainingOptionsFromJob(input: TrainingJobInput): TrainingOptionsInput {
  // `gradientCheckpointing` and `precision` shape the graph: they go to `createTrainer`, not to `train`.
  const {
    schedule,
    warmupSteps,
    minimumLearningRateRatio,
    weightDecay,
    adamBetas,
    adamEpsilon,
    decoupledWeightDecay,
    biasCorrection,
    checkpointEvery,
    gradientCheckpointing: _graph,
    precision: _precision,
    ...rest
  } = input.hyperparameters;
  const scheduleOptions = defined({ kind: schedule, warmupSteps, minimumRatio: minimumLearningRateRatio });
  const adamW = defined({
    weightDecay,
    betas: adamBetas,
    epsilon: adamEpsilon,
    decoupledWeightDecay,
    biasCorrection,
  });
  return {
    ...defined(rest),
    ...(Object.keys(scheduleOptions).length === 0 ? {} : { schedule: scheduleOptions }),
    ...(Object.keys(adamW).length === 0 ? {} : { adamW }),
    ...(checkpointEvery === undefined ? {} : { checkpoint: { every: checkpointEvery } }),
    ...(input.dpo === undefined ? {} : { dpo: input.dpo }),
  } as TrainingOptionsInput;
}
