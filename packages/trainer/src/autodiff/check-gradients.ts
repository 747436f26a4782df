import { SeededRandom } from '@tunekit/core/statistics';
import { Graph, type Value } from '../onnx/graph.js';
import { serializeModel } from '../onnx/serialize-model.js';
import { addGradients } from './add-gradients.js';
import type { GradientRuleTable } from './gradient-rule.js';

/** A differentiable input of a gradient check. */
export interface GradientCheckInput {
  shape: number[];
  /** Values (default: uniform in [-1, 1) from the seed, shifted by `offset`). */
  data?: number[];
  /** Added to random values (e.g. to keep Log/Sqrt inputs positive). */
  offset?: number;
}

/** Options of {@link checkGradients}. */
export interface CheckGradientsOptions {
  /** Builds the function under test from its inputs; returns its output (any shape). */
  build: (graph: Graph, inputs: Value[]) => Value;
  inputs: GradientCheckInput[];
  /** float64 (default) or float32 (for operators without a float64 kernel, such as Erf). */
  dtype?: 'float64' | 'float32';
  /** Finite-difference step (default 1e-6 in float64, 1e-2 in float32). */
  step?: number;
  seed?: number;
  rules?: GradientRuleTable;
}

/** Result of {@link checkGradients}: per input, `‖analytic − numeric‖ / max(‖numeric‖, 1e-12)`. */
export interface GradientCheckResult {
  relativeErrors: number[];
  analytic: Float64Array[];
  numeric: Float64Array[];
}

/**
 * Checks an operator's gradient rule against central finite differences: builds
 * `loss = ReduceSum(f(inputs) · R)` with a fixed random `R`, differentiates it with
 * {@link addGradients}, and compares with `(loss(x + h) − loss(x − h)) / 2h` element by element,
 * all on onnxruntime. Used by the rule tests; new rules should be checked the same way.
 */
export async function checkGradients(options: CheckGradientsOptions): Promise<GradientCheckResult> {
  const ort = await import('onnxruntime-node');
  const dtype = options.dtype ?? 'float64';
  const random = new SeededRandom(options.seed ?? 7);
  const graph = new Graph();
  const inputs = options.inputs.map((input, index) => graph.input(`x${index}`, dtype, input.shape));
  const output = options.build(graph, inputs);
  const weightCount = output.shape.reduce<number>((p, q) => p * (q as number), 1);
  const weights = Array.from({ length: weightCount }, () => random.next() * 2 - 1);
  const projection = graph.constant(weights, output.dtype, output.shape as number[]);
  const loss = graph.reduceSum(graph.mul(output, projection), undefined, false);
  graph.output(loss, 'loss');
  const gradients = addGradients(graph, { loss, wrt: inputs, rules: options.rules });
  inputs.forEach((input) => {
    graph.output(gradients.get(input.name) as Value, `grad_${input.name}`);
  });
  const session = await ort.InferenceSession.create(serializeModel(graph).model, {
    graphOptimizationLevel: 'disabled',
  });
  const arrayType = dtype === 'float64' ? Float64Array : Float32Array;
  const values = options.inputs.map((input) => {
    const size = input.shape.reduce((p, q) => p * q, 1);
    return arrayType.from(
      input.data ?? Array.from({ length: size }, () => random.next() * 2 - 1 + (input.offset ?? 0)),
    );
  });
  const feeds = () =>
    Object.fromEntries(
      values.map((data, index) => [
        `x${index}`,
        new ort.Tensor(dtype, data, (options.inputs[index] as GradientCheckInput).shape),
      ]),
    );
  const result = await session.run(feeds());
  const analytic = inputs.map((input) =>
    Float64Array.from(result[`grad_${input.name}`]?.data as Float64Array),
  );
  const lossOnly = async () => Number((await session.run(feeds(), ['loss'])).loss?.data[0]);
  const step = options.step ?? (dtype === 'float64' ? 1e-6 : 1e-2);
  const numeric: Float64Array[] = [];
  for (const data of values) {
    const estimate = new Float64Array(data.length);
    for (let element = 0; element < data.length; element += 1) {
      const original = data[element] as number;
      data[element] = original + step;
      const plus = await lossOnly();
      data[element] = original - step;
      const minus = await lossOnly();
      data[element] = original;
      estimate[element] = (plus - minus) / (2 * step);
    }
    numeric.push(estimate);
  }
  const norm = (vector: ArrayLike<number>) => Math.sqrt(Array.from(vector).reduce((s, v) => s + v * v, 0));
  const relativeErrors = analytic.map((gradient, index) => {
    const reference = numeric[index] as Float64Array;
    const difference = gradient.map((value, element) => value - (reference[element] as number));
    return norm(difference) / Math.max(norm(reference), 1e-12);
  });
  return { relativeErrors, analytic, numeric };
}
