import { parseOrThrow } from '@tunekit/core';
import { z } from 'zod';

/**
 * Settings of {@link DynamicLossScaler}; the defaults are `torch.cuda.amp.GradScaler`'s
 * (`init_scale` 2^16, `growth_factor` 2, `backoff_factor` 0.5, `growth_interval` 2000).
 */
export const LossScalingOptionsSchema = z
  .object({
    /** The first loss scale. */
    initialScale: z
      .number()
      .positive()
      .finite()
      .default(2 ** 16),
    /** Factor applied after `growthInterval` consecutive steps with finite gradients (> 1). */
    growthFactor: z.number().gt(1).finite().default(2),
    /** Factor applied when a step's gradients hold an inf or NaN (in (0, 1)). */
    backoffFactor: z.number().gt(0).lt(1).default(0.5),
    /** Consecutive finite steps before the scale grows. */
    growthInterval: z.number().int().positive().default(2000),
  })
  .strict();

/** Loss-scaling settings as callers pass them. */
export type LossScalingOptionsInput = z.input<typeof LossScalingOptionsSchema>;
/** Loss-scaling settings after defaults. */
export type LossScalingOptions = z.output<typeof LossScalingOptionsSchema>;

/** What a checkpoint keeps of a {@link DynamicLossScaler} (to resume with the same scale). */
export const DynamicLossScalerStateSchema = z
  .object({
    scale: z.number().positive(),
    /** Consecutive finite steps since the last change of the scale. */
    growthTracker: z.number().int().min(0),
  })
  .strict();

/** The state of a {@link DynamicLossScaler}. */
export type DynamicLossScalerState = z.infer<typeof DynamicLossScalerStateSchema>;

/**
 * Dynamic loss scaling for float16 training, as `torch.cuda.amp.GradScaler` does it: the backward
 * pass starts from `scale · d(loss)` (the graph's `loss_scale` input) so that small gradients
 * survive float16, and the gradients are divided by `scale` again before the optimizer (the graph
 * does it in float32). When a step's gradients hold an inf or NaN (an overflow in float16), the step
 * is skipped and the scale multiplied by `backoffFactor`; after `growthInterval` consecutive finite
 * steps it is multiplied by `growthFactor`.
 */
export class DynamicLossScaler {
  private readonly options: LossScalingOptions;
  private currentScale: number;
  private growthTracker = 0;

  /** @throws `VALIDATION_FAILED` for settings outside {@link LossScalingOptionsSchema}. */
  constructor(options: LossScalingOptionsInput = {}) {
    this.options = parseOrThrow(LossScalingOptionsSchema, options, 'loss scaling options');
    this.currentScale = this.options.initialScale;
  }

  /** The loss scale to feed now. */
  get scale(): number {
    return this.currentScale;
  }

  /**
   * Records a step's outcome: `finite` false (an inf or NaN gradient) backs the scale off and
   * restarts the growth count; true counts the step and grows the scale every `growthInterval`
   * finite steps. Returns whether the optimizer may apply the step (`finite`).
   */
  update(finite: boolean): boolean {
    if (!finite) {
      this.currentScale *= this.options.backoffFactor;
      this.growthTracker = 0;
      return false;
    }
    this.growthTracker += 1;
    if (this.growthTracker >= this.options.growthInterval) {
      this.currentScale *= this.options.growthFactor;
      this.growthTracker = 0;
    }
    return true;
  }

  /** The state to save with a checkpoint. */
  state(): DynamicLossScalerState {
    return { scale: this.currentScale, growthTracker: this.growthTracker };
  }

  /** Restores a saved state (`VALIDATION_FAILED` when it is not one). */
  loadState(state: unknown): void {
    const parsed = parseOrThrow(DynamicLossScalerStateSchema, state, 'loss scaler state');
    this.currentScale = parsed.scale;
    this.growthTracker = parsed.growthTracker;
  }
}
