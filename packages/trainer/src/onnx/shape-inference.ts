import { type TunekitError, tunekitError } from '@tunekit/core';
import type { Dimension } from './graph-types.js';

/** A `GRAPH_INVALID` error (a bug in the code that built the graph). */
export function graphError(message: string, details: Record<string, unknown>): TunekitError {
  return tunekitError('GRAPH_INVALID', message, details);
}

/** Product (or another fold) of a list of sizes. */
export function product(
  values: readonly number[],
  combine = (a: number, b: number) => a * b,
  initial = 1,
): number {
  return values.reduce(combine, initial);
}

/** ONNX Slice start/end clamped to a dimension of `size`, per the sign of `step`. */
export function clampSlice(start: number, end: number, size: number, step: number): [number, number] {
  const normalize = (index: number, low: number, high: number) =>
    Math.min(Math.max(index < 0 ? index + size : index, low), high);
  return step > 0
    ? [normalize(start, 0, size), normalize(end, 0, size)]
    : [normalize(start, -1, size - 1), normalize(end, -1, size - 1)];
}

/**
 * The dimension that `-1` stands for in a reshape of `input` to `known` + `-1`, as a symbolic
 * product: `[batch, sequence, 4, 8]` to `[-1, 32]` gives `batch*sequence`, and to `[-1, 8]` gives
 * `4*batch*sequence`. Dimensions such as `batch*sequence` count as their factors. Returns undefined
 * when the known dimensions do not divide the input's (an unknown dimension then).
 */
export function inferredSymbolicDimension(
  input: readonly Dimension[],
  known: readonly Dimension[],
): Dimension | undefined {
  const factors = (shape: readonly Dimension[]) => {
    let numeric = 1;
    const symbols: string[] = [];
    for (const size of shape) {
      if (typeof size === 'number') numeric *= size;
      else
        for (const factor of size.split('*')) {
          if (/^\d+$/.test(factor)) numeric *= Number(factor);
          else symbols.push(factor);
        }
    }
    return { numeric, symbols };
  };
  const whole = factors(input);
  const part = factors(known);
  const remaining = [...whole.symbols];
  for (const symbol of part.symbols) {
    const index = remaining.indexOf(symbol);
    if (index < 0) return undefined;
    remaining.splice(index, 1);
  }
  if (part.numeric === 0 || whole.numeric % part.numeric !== 0) return undefined;
  const ratio = whole.numeric / part.numeric;
  if (remaining.length === 0) return ratio;
  return [...(ratio === 1 ? [] : [String(ratio)]), ...remaining].join('*');
}

/** NumPy broadcasting of two (possibly symbolic) shapes. */
export function broadcastShapes(a: readonly Dimension[], b: readonly Dimension[]): Dimension[] {
  const rank = Math.max(a.length, b.length);
  const result: Dimension[] = [];
  for (let index = 0; index < rank; index += 1) {
    const left = a[a.length - rank + index] ?? 1;
    const right = b[b.length - rank + index] ?? 1;
    if (left === 1) result.push(right);
    else if (right === 1) result.push(left);
    else if (left === right) result.push(left);
    else if (typeof left === 'number' && typeof right === 'string') result.push(left);
    else if (typeof right === 'number' && typeof left === 'string') result.push(right);
    else if (typeof left === 'string' && typeof right === 'string') result.push(left);
    else throw graphError(`Shapes [${a}] and [${b}] do not broadcast`, { a, b });
  }
  return result;
}

/** Shape after reducing `axes` (all when undefined), keeping them as 1 or dropping them. */
export function reducedShape(
  shape: readonly Dimension[],
  axes: readonly number[] | undefined,
  keepDimensions: boolean,
): Dimension[] {
  const normalized = (axes ?? shape.map((_, index) => index)).map((axis) =>
    axis < 0 ? axis + shape.length : axis,
  );
  if (keepDimensions) return shape.map((size, axis) => (normalized.includes(axis) ? 1 : size));
  return shape.filter((_, axis) => !normalized.includes(axis));
}
