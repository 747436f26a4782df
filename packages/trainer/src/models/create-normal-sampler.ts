import { SeededRandom } from '@tunekit/core/statistics';

/**
 * A deterministic sampler of the standard normal distribution for a seed (Box–Muller on
 * {@link SeededRandom}, two uniforms per sample), as the random weight initialisers use it.
 */
export function createNormalSampler(seed: number): () => number {
  const random = new SeededRandom(seed);
  return () => {
    const u = 1 - random.next();
    const v = random.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}
