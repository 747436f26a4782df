import type { SeededRandom } from '@tunekit/core/statistics';

/**
 * Picks the next token from logits: greedy at temperature 0, else softmax(logits / temperature)
 * restricted to the `topK` most likely and to the `topP` nucleus, sampled with `random`.
 */
export function sampleToken(
  logits: Float32Array,
  options: { temperature: number; topK: number; topP: number },
  random: SeededRandom,
): number {
  if (options.temperature === 0) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if ((logits[i] as number) > (logits[best] as number)) best = i;
    return best;
  }
  const order = Array.from({ length: logits.length }, (_, index) => index).sort(
    (a, b) => (logits[b] as number) - (logits[a] as number),
  );
  const keep = options.topK > 0 ? order.slice(0, options.topK) : order;
  const maximum = logits[keep[0] as number] as number;
  const weights = keep.map((index) => Math.exp(((logits[index] as number) - maximum) / options.temperature));
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  let cumulative = 0;
  let cut = keep.length;
  if (options.topP < 1) {
    for (let i = 0; i < keep.length; i++) {
      cumulative += (weights[i] as number) / total;
      if (cumulative >= options.topP) {
        cut = i + 1;
        break;
      }
    }
  }
  const kept = weights.slice(0, cut);
  const keptTotal = kept.reduce((sum, weight) => sum + weight, 0);
  let draw = random.next() * keptTotal;
  for (let i = 0; i < cut; i++) {
    draw -= kept[i] as number;
    if (draw <= 0) return keep[i] as number;
  }
  return keep[cut - 1] as number;
}
