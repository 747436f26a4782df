import { z } from 'zod';

/** A learning-rate schedule: warmup then linear decay, cosine decay, or constant. */
export const LearningRateScheduleSchema = z.object({
  /** Shape after warmup. */
  kind: z.enum(['linear', 'cosine', 'constant']).default('linear'),
  /** Steps of linear warmup from 0 to the peak rate. */
  warmupSteps: z.number().int().min(0).default(0),
  /** Fraction of the peak rate reached at the last step (linear and cosine). */
  minimumRatio: z.number().min(0).max(1).default(0),
});

/** A schedule as accepted from callers. */
export type LearningRateScheduleInput = z.input<typeof LearningRateScheduleSchema>;
/** A schedule after defaults. */
export type LearningRateSchedule = z.output<typeof LearningRateScheduleSchema>;

/**
 * The multiplier of the peak learning rate at optimizer step `step` (0-based) of `totalSteps`,
 * as the Hugging Face schedulers compute it (`get_linear_schedule_with_warmup`,
 * `get_cosine_schedule_with_warmup`, `get_constant_schedule_with_warmup`), with an optional floor.
 */
export function learningRateFactor(schedule: LearningRateSchedule, step: number, totalSteps: number): number {
  const { kind, warmupSteps, minimumRatio } = schedule;
  if (step < warmupSteps) {
    return step / Math.max(1, warmupSteps);
  }
  if (kind === 'constant') {
    return 1;
  }
  const progress = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
  const shape = kind === 'linear' ? 1 - progress : 0.5 * (1 + Math.cos(Math.PI * progress));
  return minimumRatio + (1 - minimumRatio) * shape;
}
