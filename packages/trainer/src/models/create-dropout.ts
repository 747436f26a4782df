import { tunekitError } from '@tunekit/core';
import { constantReshape } from '../autodiff/reduce-to-shape.js';
import type { Dimension, Graph, Value } from '../onnx/graph.js';

/** Applies dropout with a ratio to a value, as {@link createDropout} returns it. */
export type ApplyDropout = (x: Value, ratio: number) => Value;

/**
 * One dropout site of a training graph: a float32 input of `x`'s element count holding `0` for a
 * dropped element and `1 / (1 − ratio)` for a kept one, which the graph multiplies into `x`.
 */
export interface DropoutMaskInput {
  /** Graph input name, `dropout_mask.<n>` (n from 1, in build order). */
  inputName: string;
  ratio: number;
  /**
   * The static shape of the masked value; each dimension is a number, one of the graph's batch and
   * sequence dimension names, or a product of those joined by `*` (see {@link dropoutMaskSize}).
   */
  shape: Dimension[];
}

/** Where {@link createDropout} records its sites, and the names of the graph's run-time dimensions. */
export interface DropoutMaskCollector {
  masks: DropoutMaskInput[];
  /** The batch and sequence dimensions of the training graph (names, or numbers when fixed). */
  dimensions: { batch: Dimension; sequence: Dimension };
}

/**
 * Training-mode dropout whose masks come from the caller: each call with a positive ratio adds a
 * graph input `dropout_mask.<n>` (one dimension) and returns `x · Reshape(mask, shape of x)` (a
 * constant shape when `x` has at most one symbolic size, else `Shape(x)`). The
 * trainer fills the masks from a counter-based hash of (seed, step, micro-batch, site), so a resumed
 * run draws exactly the masks the uninterrupted run would have drawn, with no generator state to
 * save. Without a collector (inference, evaluation) or with a ratio ≤ 0 it returns `x` unchanged.
 *
 * Throws `GRAPH_INVALID` when `x`'s static shape is not expressible in the batch and sequence
 * dimensions, since the trainer could not size the mask.
 */
export function createDropout(graph: Graph, collector: DropoutMaskCollector | undefined): ApplyDropout {
  return (x, ratio) => {
    if (!collector || ratio <= 0) return x;
    const unknown = unsizedFactors(x.shape, collector.dimensions);
    if (unknown.length > 0) {
      throw tunekitError(
        'GRAPH_INVALID',
        `Dropout on ${x.name}: its shape [${x.shape.join(', ')}] has dimensions (${unknown.join(', ')}) the trainer cannot size`,
        { value: x.name, shape: [...x.shape] },
      );
    }
    const inputName = `dropout_mask.${collector.masks.length + 1}`;
    const mask = graph.input(inputName, x.dtype, [`${inputName}.elements`]);
    collector.masks.push({ inputName, ratio, shape: [...x.shape] });
    // A constant target shape where x's shape has at most one symbolic size, else Shape(x).
    const constant = constantReshape(mask.shape, x.shape);
    const shape = constant ? graph.int64s(constant) : graph.shapeOf(x);
    return graph.mul(x, graph.reshapeLike(mask, shape, x.shape));
  };
}

/**
 * The element count of a dropout mask for a batch of `batch` rows of `sequence` tokens, from its
 * static shape (numbers, the collector's dimension names, and `*` products of them).
 */
export function dropoutMaskSize(
  shape: readonly Dimension[],
  dimensions: { batch: Dimension; sequence: Dimension },
  runtime: { batch: number; sequence: number },
): number {
  const unknown = unsizedFactors(shape, dimensions);
  if (unknown.length > 0) {
    throw tunekitError('GRAPH_INVALID', `Cannot size a dropout mask: unknown dimension ${unknown[0]}`, {
      shape: [...shape],
    });
  }
  const values = new Map<string, number>();
  if (typeof dimensions.batch === 'string') values.set(dimensions.batch, runtime.batch);
  if (typeof dimensions.sequence === 'string') values.set(dimensions.sequence, runtime.sequence);
  let size = 1;
  for (const dimension of shape) {
    if (typeof dimension === 'number') size *= dimension;
    else for (const factor of dimension.split('*')) size *= values.get(factor) ?? Number(factor);
  }
  return size;
}

/** The factors of `shape`'s symbolic dimensions that are neither numbers nor the batch or sequence name. */
function unsizedFactors(
  shape: readonly Dimension[],
  dimensions: { batch: Dimension; sequence: Dimension },
): string[] {
  const named = new Set(
    [dimensions.batch, dimensions.sequence].filter((dimension) => typeof dimension === 'string'),
  );
  return shape
    .filter((dimension): dimension is string => typeof dimension === 'string')
    .flatMap((dimension) => dimension.split('*'))
    .filter((factor) => !named.has(factor) && !/^\d+$/.test(factor));
}
