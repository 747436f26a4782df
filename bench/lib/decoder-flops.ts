/**
 * Matrix-product FLOP per trained token of LoRA training on a decoder with a frozen base, as the
 * trainer executes it (the FLOP count behind the benches' efficiency share):
 *
 *   4·P + 12·L·T·(H·hd) + 6·r·Σ(in + out)
 *
 * - `P`: parameters of every linear layer plus the LM head (`V·d`). Forward `x·W` is 2·P; the
 *   backward needs only input gradients of frozen weights, `dy·Wᵀ`, another 2·P (the head's `G·W`).
 * - Attention over `T` keys per query for each of `L` layers, `H·hd` wide: `Q·Kᵀ` and `P·V` forward
 *   (2·2·T·H·hd), four products of the same size backward (dQ, dK, dP, dV): 12·T·H·hd per layer.
 *   Full `T × T` scores are counted, as computed (the causal mask skips no work).
 * - LoRA: `x·Aᵀ` and `·Bᵀ` forward (2·r·(in + out)) and about twice that backward.
 */
export interface DecoderShape {
  layers: number;
  hidden: number;
  /** Query heads × head size (the attention width). */
  attentionWidth: number;
  /** Per-layer linear layers `[in, out]` (q, k, v, o, MLP …). */
  linears: Array<[number, number]>;
  vocabulary: number;
  /** Indices into `linears` that carry LoRA adapters. */
  adapted: number[];
  rank: number;
}

export function decoderTrainingFlopsPerToken(shape: DecoderShape, sequence: number): number {
  const perLayer = shape.linears.reduce((sum, [input, output]) => sum + input * output, 0);
  const linearParameters = shape.layers * perLayer + shape.vocabulary * shape.hidden;
  const attention = 12 * shape.layers * sequence * shape.attentionWidth;
  const lora =
    6 *
    shape.rank *
    shape.layers *
    shape.adapted.reduce((sum, index) => {
      const [input, output] = shape.linears[index] as [number, number];
      return sum + input + output;
    }, 0);
  return 4 * linearParameters + attention + lora;
}
