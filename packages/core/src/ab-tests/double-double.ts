import { z } from 'zod';

/**
 * A double-double number `high + low` (|low| ≤ half an ulp of `high`): about 106 bits of mantissa
 * in two JSON numbers. Running sums of values and of squared values kept this way lose next to
 * nothing to rounding or to cancellation when values are removed again, so a variance computed from
 * them as `(Σx² − (Σx)²/n) / (n − 1)` matches a two-pass or Welford variance of the same values
 * unless the data's mean is more than ~10⁸ standard deviations from zero (where plain doubles break
 * down at ~10⁻⁸ already). Algorithms: Dekker (1971), Knuth's two-sum, as in the QD library (Hida,
 * Li and Bailey).
 */
export const DoubleDoubleSchema = z.tuple([z.number(), z.number()]);
/** A double-double number `[high, low]`. */
export type DoubleDouble = z.infer<typeof DoubleDoubleSchema>;

/** 2²⁷ + 1: splits a double into two halves whose products are exact. */
const SPLITTER = 134_217_729;

/** The exact sum of two doubles as `[rounded sum, error]` (Knuth's two-sum). */
function twoSum(a: number, b: number): DoubleDouble {
  const sum = a + b;
  const virtual = sum - a;
  return [sum, a - (sum - virtual) + (b - virtual)];
}

/** Two-sum when |a| ≥ |b| (Dekker's fast two-sum). */
function fastTwoSum(a: number, b: number): DoubleDouble {
  const sum = a + b;
  return [sum, b - (sum - a)];
}

function split(a: number): DoubleDouble {
  const scaled = SPLITTER * a;
  const high = scaled - (scaled - a);
  return [high, a - high];
}

/** The exact product of two doubles as `[rounded product, error]` (Dekker's two-product). */
function twoProduct(a: number, b: number): DoubleDouble {
  const product = a * b;
  if (!Number.isFinite(product)) return [product, 0];
  const [aHigh, aLow] = split(a);
  const [bHigh, bLow] = split(b);
  return [product, aHigh * bHigh - product + aHigh * bLow + aLow * bHigh + aLow * bLow];
}

/** Keeps `low` a number when `high` overflowed (JSON cannot hold NaN or Infinity). */
function normalized(high: number, low: number): DoubleDouble {
  return Number.isFinite(high) ? [high, low] : [high, 0];
}

/** A double as a double-double. */
export function toDoubleDouble(value: number): DoubleDouble {
  return [value, 0];
}

/** The nearest double. */
export function doubleDoubleValue(value: DoubleDouble): number {
  return Number.isFinite(value[0]) ? value[0] + value[1] : value[0];
}

/** `a + b` (the accurate double-double addition). */
export function addDoubleDouble(a: DoubleDouble, b: DoubleDouble): DoubleDouble {
  const [sumHigh, sumError] = twoSum(a[0], b[0]);
  const [lowSum, lowError] = twoSum(a[1], b[1]);
  const [high, low] = fastTwoSum(sumHigh, sumError + lowSum);
  const [resultHigh, resultLow] = fastTwoSum(high, low + lowError);
  return normalized(resultHigh, resultLow);
}

/** `a − b`. */
export function subtractDoubleDouble(a: DoubleDouble, b: DoubleDouble): DoubleDouble {
  return addDoubleDouble(a, [-b[0], -b[1]]);
}

/** `a × b`. */
export function multiplyDoubleDouble(a: DoubleDouble, b: DoubleDouble): DoubleDouble {
  const [productHigh, productError] = twoProduct(a[0], b[0]);
  if (!Number.isFinite(productHigh)) return [productHigh, 0];
  const [high, low] = fastTwoSum(productHigh, productError + (a[0] * b[1] + a[1] * b[0]));
  return normalized(high, low);
}

/** `a / divisor` for a double divisor. */
export function divideDoubleDouble(a: DoubleDouble, divisor: number): DoubleDouble {
  const quotient = a[0] / divisor;
  if (!Number.isFinite(quotient)) return [quotient, 0];
  const [productHigh, productError] = twoProduct(quotient, divisor);
  const [difference, differenceError] = twoSum(a[0], -productHigh);
  const correction = (difference + (differenceError - productError + a[1])) / divisor;
  const [high, low] = fastTwoSum(quotient, correction);
  return normalized(high, low);
}

/** `x²` exactly (up to overflow). */
export function squareToDoubleDouble(value: number): DoubleDouble {
  return normalized(...twoProduct(value, value));
}
