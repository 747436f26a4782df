/**
 * The global L2 norm of all gradients together (as `torch.nn.utils.clip_grad_norm_` computes it).
 * Returns `NaN` or `Infinity` when a gradient holds one.
 */
export function globalGradientNorm(gradients: ArrayLike<number>[]): number {
  let sum = 0;
  for (const gradient of gradients) {
    for (let i = 0; i < gradient.length; i++) {
      const value = gradient[i] as number;
      sum += value * value;
    }
  }
  return Math.sqrt(sum);
}

/**
 * Scales every gradient in place so that their global L2 norm is at most `maxNorm`
 * (`torch.nn.utils.clip_grad_norm_`: factor `maxNorm / (norm + 1e-6)` when below 1).
 *
 * @returns the norm before clipping.
 */
export function clipGradientNorm(gradients: Float32Array[], maxNorm: number): number {
  const norm = globalGradientNorm(gradients);
  if (!Number.isFinite(norm)) {
    return norm;
  }
  const factor = maxNorm / (norm + 1e-6);
  if (factor < 1) {
    for (const gradient of gradients) {
      for (let i = 0; i < gradient.length; i++) {
        gradient[i] = (gradient[i] as number) * factor;
      }
    }
  }
  return norm;
}
