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
 * `cat(freqs, freqs)`), each `[batch, 1, sequence, headSize]` in `dtype`.
 */
export function buildRotaryTables(
  graph: Graph,
  positions: Value,
  inverseFrequencies: Float32Array,
  dtype: 'float32' | 'float64' = 'float32',
): { cos: Value; sin: Value } {
  return graph.scope('rotary', () => {
    const [batch, sequence] = positions.shape as [number | string, number | string];
    const headSize = inverseFrequencies.length * 2;
    const frequencies = graph.constant(inverseFrequencies, 'float32', [inverseFrequencies.length]);
    const angles = graph.mul(graph.unsqueeze(graph.cast(positions, 'float32'), [2]), frequencies);
    const full = graph.unsqueeze(graph.concat([angles, angles], 2), [1]);
    const shape = [{ dtype: 'float32' as const, shape: [batch, 1, sequence, headSize] }];
    let cos = graph.node('Cos', [full], {}, shape)[0] as Value;
    let sin = graph.node('Sin', [full], {}, shape)[0] as Value;
    if (dtype !== 'float32') {
      cos = graph.cast(cos, dtype);
      sin = graph.cast(sin, dtype);
    }
    return { cos, sin };
  });
}

/**
 * Applies rotary embeddings to `x` `[batch, heads, sequence, headSize]` (or with more head axes, `cos`/`sin` broadcast to it):
 * `x·cos + rotate_half(x)·sin` with `rotate_half(x) = cat(−x₂, x₁)` (Hugging Face's
 * `apply_rotary_pos_emb`). Built from Slice/Neg/Concat/Mul, whose gradient rules exist.
 */
export function applyRotaryEmbedding(graph: Graph, x: Value, cos: Value, sin: Value): Value {
  const axis = x.shape.length - 1;
  const headSize = x.shape[axis] as number;
  const half = headSize / 2;
  const first = graph.slice(x, [0], [half], [axis]);
  const second = graph.slice(x, [half], [headSize], [axis]);
  const rotated = graph.concat([graph.neg(second), first], axis);
  return graph.add(graph.mul(x, cos), graph.mul(rotated, sin));
}
