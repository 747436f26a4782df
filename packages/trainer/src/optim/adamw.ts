import { z } from 'zod';

/** Options of {@link AdamW}, validated with zod at the boundary. */
export const AdamWOptionsSchema = z.object({
  /** Learning rate (the schedule multiplies it each step). */
  learningRate: z.number().positive().default(1e-3),
  /** Exponential decay rates of the first and second moment estimates. */
  betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.999]),
  /** Added to the denominator for numerical stability. */
  epsilon: z.number().positive().default(1e-8),
  /** Weight decay coefficient. */
  weightDecay: z.number().min(0).default(0.01),
  /**
   * `true` (AdamW, as `torch.optim.AdamW`): `p -= lr * weightDecay * p` before the Adam update.
   * `false` (Adam with L2, as `torch.optim.Adam(weight_decay=…)`): `g += weightDecay * p`.
   */
  decoupledWeightDecay: z.boolean().default(true),
  /** Divide the moments by `1 - beta^t` (PyTorch always does; turn off for the original "no correction" variant). */
  biasCorrection: z.boolean().default(true),
});

/** Options of {@link AdamW} as accepted from callers (every field optional). */
export type AdamWOptionsInput = z.input<typeof AdamWOptionsSchema>;
/** Options of {@link AdamW} after defaults. */
export type AdamWOptions = z.output<typeof AdamWOptionsSchema>;

/** The serializable state of an {@link AdamW} optimizer (for checkpoints). */
export interface AdamWState {
  /** Number of updates applied so far. */
  step: number;
  /** First moment estimate per parameter, in parameter order. */
  firstMoments: Float32Array[];
  /** Second moment estimate per parameter, in parameter order. */
  secondMoments: Float32Array[];
}

/**
 * AdamW over Float32Array parameters, updated in place.
 *
 * Follows `torch.optim.AdamW` (single-tensor path) step for step: decoupled decay
 * `p *= 1 - lr·λ`, moments `m = β1·m + (1-β1)·g`, `v = β2·v + (1-β2)·g²`, then
 * `p -= lr/(1-β1^t) · m / (sqrt(v)/sqrt(1-β2^t) + ε)`. Moments are kept in float32 like PyTorch's.
 */
export class AdamW {
  /** Options after defaults. */
  readonly options: AdamWOptions;
  private readonly parameters: Float32Array[];
  private firstMoments: Float32Array[];
  private secondMoments: Float32Array[];
  private stepCount = 0;

  /**
   * @param parameters - the tensors to update, in a fixed order (their order is the state's order).
   * @param options - hyper-parameters; see {@link AdamWOptionsSchema}.
   */
  constructor(parameters: Float32Array[], options: AdamWOptionsInput = {}) {
    this.options = AdamWOptionsSchema.parse(options);
    this.parameters = parameters;
    this.firstMoments = parameters.map((parameter) => new Float32Array(parameter.length));
    this.secondMoments = parameters.map((parameter) => new Float32Array(parameter.length));
  }

  /** Number of updates applied so far. */
  get step(): number {
    return this.stepCount;
  }

  /**
   * Applies one update with the given gradients (same order and sizes as the parameters).
   *
   * @param learningRate - overrides `options.learningRate` for this step (what a schedule computes).
   */
  update(gradients: ArrayLike<number>[], learningRate = this.options.learningRate): void {
    if (gradients.length !== this.parameters.length) {
      throw new RangeError(`AdamW: ${gradients.length} gradients for ${this.parameters.length} parameters`);
    }
    this.stepCount += 1;
    const { betas, epsilon, weightDecay, decoupledWeightDecay, biasCorrection } = this.options;
    const [beta1, beta2] = betas;
    const correction1 = biasCorrection ? 1 - beta1 ** this.stepCount : 1;
    const correction2 = biasCorrection ? 1 - beta2 ** this.stepCount : 1;
    const stepSize = learningRate / correction1;
    const correction2Root = Math.sqrt(correction2);
    const decayFactor = decoupledWeightDecay ? 1 - learningRate * weightDecay : 1;
    const l2 = decoupledWeightDecay ? 0 : weightDecay;
    for (let index = 0; index < this.parameters.length; index++) {
      const parameter = this.parameters[index] as Float32Array;
      const gradient = gradients[index] as ArrayLike<number>;
      const first = this.firstMoments[index] as Float32Array;
      const second = this.secondMoments[index] as Float32Array;
      if (gradient.length !== parameter.length) {
        throw new RangeError(
          `AdamW: gradient ${index} has ${gradient.length} values, parameter has ${parameter.length}`,
        );
      }
      for (let i = 0; i < parameter.length; i++) {
        let value = parameter[i] as number;
        let grad = gradient[i] as number;
        if (l2 !== 0) grad += l2 * value;
        value *= decayFactor;
        const m = beta1 * (first[i] as number) + (1 - beta1) * grad;
        const v = beta2 * (second[i] as number) + (1 - beta2) * grad * grad;
        first[i] = m;
        second[i] = v;
        parameter[i] = value - (stepSize * m) / (Math.sqrt(v) / correction2Root + epsilon);
      }
    }
  }

  /** A copy of the optimizer state (moments and step count). */
  state(): AdamWState {
    return {
      step: this.stepCount,
      firstMoments: this.firstMoments.map((moment) => moment.slice()),
      secondMoments: this.secondMoments.map((moment) => moment.slice()),
    };
  }

  /** Restores a state produced by {@link AdamW.state} (sizes must match the parameters). */
  loadState(state: AdamWState): void {
    if (
      state.firstMoments.length !== this.parameters.length ||
      state.secondMoments.length !== this.parameters.length
    ) {
      throw new RangeError('AdamW.loadState: state does not match the parameters');
    }
    state.firstMoments.forEach((moment, index) => {
      if (moment.length !== this.parameters[index]?.length) {
        throw new RangeError(`AdamW.loadState: moment ${index} has the wrong size`);
      }
    });
    this.stepCount = state.step;
    this.firstMoments = state.firstMoments.map((moment) => Float32Array.from(moment));
    this.secondMoments = state.secondMoments.map((moment) => Float32Array.from(moment));
  }
}
