import { tunekitError } from '@tunekit/core';
import type { Graph, Value } from '../../onnx/graph.js';
import type { RopeScaling } from './llama-config.js';

/**
 * Rotary inverse frequencies `1 / θ^(2i/d)` for `i < d/2` as Hugging Face computes them (float32),
 * adjusted for `rope_scaling`: `linear` divides them by `factor`; `llama3` divides the low
 * frequencies by `factor` and interpolates the middle band (`low_freq_factor`, `high_freq_factor`,
 * `original_max_position_embeddings`). Other kinds throw `MODEL_UNSUPPORTED`.
 */
export function rotaryInverseFrequencies(
  headSize: number,
  theta: number,
  scaling: RopeScaling | null | undefined,
): Float32Array {
  const half = headSize / 2;
  const base = Float32Array.from({ length: half }, (_, index) => 1 / theta ** ((2 * index) / headSize));
  const kind = scaling?.rope_type ?? scaling?.type ?? 'default';
  if (kind === 'default') return base;
  const factor = scaling?.factor;
  if (kind === 'linear' && factor) return base.map((value) => value / factor);
  if (
    kind === 'llama3' &&
    factor &&
    scaling?.low_freq_factor &&
    scaling.high_freq_factor &&
    scaling.original_max_position_embeddings
  ) {
    const lowFactor = scaling.low_freq_factor;
    const highFactor = scaling.high_freq_factor;
    const oldContext = scaling.original_max_position_embeddings;
    const lowWavelength = oldContext / lowFactor;
    const highWavelength = oldContext / highFactor;
    return base.map((frequency) => {
      const wavelength = (2 * Math.PI) / frequency;
      if (wavelength < highWavelength) return frequency;
      if (wavelength > lowWavelength) return frequency / factor;
      const smooth = (oldContext / wavelength - lowFactor) / (highFactor - lowFactor);
      return (1 - smooth) * (frequency / factor) + smooth * frequency;
    });
  }
  throw tunekitError(
    'MODEL_UNSUPPORTED',
    kind === 'linear' || kind === 'llama3'
      ? `rope_scaling "${kind}" lacks its parameters (factor${kind === 'llama3' ? ', low_freq_factor, high_freq_factor, original_max_position_embeddings' : ''})`
      : `rope_scaling kind "${kind}" is not supported (supported: default, linear, llama3)`,
    { ropeScaling: scaling },
  );
}

/**
 * `cos` and `sin` of the rotary angles for int64 positions `[batch, sequence]`:
 * `angles = position · inverse frequency`, duplicated to the full head size (Hugging Face's
 * `cat(freqs, freqs)`), each `[batch, 1, sequence, headSize]` in `dtype`. `signedSin` is `sin` with
 * `rotate_half`'s signs folded in (`−sin` on the first half of the head, `sin` on the second), the
 * table {@link applyRotaryEmbedding} multiplies the swapped halves by.
 */
export function buildRotaryTables(
  graph: Graph,
  positions: Value,
  inverseFrequencies: Float32Array,
  dtype: 'float32' | 'float64' = 'float32',
): { cos: Value; sin: Value; signedSin: Value } {
  return graph.scope('rotary', () => {
    const [batch, sequence] = positions.shape as [number | string, number | string];
    const headSize = inverseFrequencies.length * 2;
    const frequencies = graph.constant(inverseFrequencies, 'float32', [inverseFrequencies.length]);
    const angles = graph.mul(graph.unsqueeze(graph.cast(positions, 'float32'), [2]), frequencies);
    const full = graph.unsqueeze(graph.concat([angles, angles], 2), [1]);
    const shape = [{ dtype: 'float32' as const, shape: [batch, 1, sequence, headSize] }];
    let cos = graph.node('Cos', [full], {}, shape)[0] as Value;
    let sin = graph.node('Sin', [full], {}, shape)[0] as Value;
    let signedSin = graph.mul(sin, rotateHalfSigns(graph, headSize, 'float32'));
    if (dtype !== 'float32') {
      cos = graph.cast(cos, dtype);
      sin = graph.cast(sin, dtype);
      signedSin = graph.cast(signedSin, dtype);
    }
    return { cos, sin, signedSin };
  });
}

/**
 * Applies rotary embeddings to `x` `[batch, heads, sequence, headSize]` (or any layout whose last
 * axis is the head, with `cos`/`sin` broadcast to it): `x·cos + rotate_half(x)·sin` with
 * `rotate_half(x) = cat(−x₂, x₁)` (Hugging Face's `apply_rotary_pos_emb`). The halves are swapped by
 * one `Gather` on the last axis and the signs come from `signedSin` (see {@link buildRotaryTables};
 * computed from `sin` here when not given), so every value is exactly Hugging Face's. The gradient
 * is written by hand (the swap is its own inverse): `dx = dy·cos + swap(dy·signedSin)`, 4 nodes
 * forward and 4 backward where Slice/Neg/Concat and their rules need 7 each.
 */
export function applyRotaryEmbedding(
  graph: Graph,
  x: Value,
  cos: Value,
  sin: Value,
  signedSin?: Value,
): Value {
  const axis = x.shape.length - 1;
  const headSize = x.shape[axis] as number;
  const half = headSize / 2;
  const signed = signedSin ?? graph.mul(sin, rotateHalfSigns(graph, headSize, sin.dtype));
  const swapIndices = graph.constant(
    Array.from({ length: headSize }, (_, index) => (index + half) % headSize),
    'int64',
    [headSize],
  );
  const swap = (value: Value) =>
    graph.node('Gather', [value, swapIndices], { axis }, [
      { dtype: value.dtype, shape: value.shape },
    ])[0] as Value;
  const y = graph.add(graph.mul(x, cos), graph.mul(swap(x), signed));
  graph.customGradient(y, [x], (dy, forward) => [
    graph.add(graph.mul(dy, forward(cos)), swap(graph.mul(dy, forward(signed)))),
  ]);
  return y;
}

/** `[−1 … −1, 1 … 1]` (half and half) over the head: `rotate_half`'s signs after swapping the halves. */
function rotateHalfSigns(graph: Graph, headSize: number, dtype: Value['dtype']): Value {
  return graph.constant(
    Array.from({ length: headSize }, (_, index) => (index < headSize / 2 ? -1 : 1)),
    dtype,
    [headSize],
  );
}
