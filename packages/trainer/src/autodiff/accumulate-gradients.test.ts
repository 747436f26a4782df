import { describe, expect, it } from 'vitest';
import { Graph, type Value } from '../onnx/graph.js';
import { addGradients } from './add-gradients.js';
import { checkGradients } from './check-gradients.js';
import { constantReshape } from './reduce-to-shape.js';

describe('accumulateGradients (through addGradients)', () => {
  it('folds the gradient contributions of Gemms into their C input: no Add/Sum, same gradients', async () => {
    let built: Graph | undefined;
    const result = await checkGradients({
      build: (graph, [x, a, b]) => {
        built = graph;
        // x feeds three Gemms and a Tanh: three Gemm contributions and one other.
        const first = graph.gemm(x as Value, a as Value, undefined, { transB: true });
        const second = graph.gemm(x as Value, b as Value, undefined, { transB: true, alpha: 0.5 });
        const third = graph.gemm(x as Value, a as Value);
        return graph.add(graph.add(graph.mul(first, second), graph.tanh(third)), graph.tanh(x as Value));
      },
      inputs: [{ shape: [4, 3] }, { shape: [3, 3] }, { shape: [3, 3] }],
    });
    for (const error of result.relativeErrors) expect(error).toBeLessThan(1e-6);
    const graph = built as Graph;
    const backward = graph.nodes.filter((node) => node.name.startsWith('grad/'));
    const foldedGemms = backward.filter((node) => node.opType === 'Gemm' && node.inputs.length === 3);
    // dx: the Tanh path's Mul is the running sum; three Gemms fold onto it in turn, and a's two
    // contributions (from the first and third Gemm) fold as well.
    expect(foldedGemms.length).toBeGreaterThanOrEqual(3);
    const sums = graph.nodes.filter((node) => node.opType === 'Sum');
    expect(sums).toHaveLength(0);
  });

  it('never folds into a contribution that is also read elsewhere, and keeps the node order topological', async () => {
    let built: Graph | undefined;
    const result = await checkGradients({
      build: (graph, [x, a, b]) => {
        built = graph;
        // y is a Gemm output read by another Gemm and by the Add: dy passes through the Add to both.
        const y = graph.gemm(x as Value, a as Value);
        return graph.tanh(graph.add(graph.gemm(y, b as Value, undefined, { transB: true }), y));
      },
      inputs: [{ shape: [2, 3] }, { shape: [3, 3] }, { shape: [3, 3] }],
    });
    for (const error of result.relativeErrors) expect(error).toBeLessThan(1e-6);
    const graph = built as Graph;
    const order = new Map(
      graph.nodes.flatMap((node, index) => node.outputs.map((output) => [output, index])),
    );
    graph.nodes.forEach((node, index) => {
      for (const input of node.inputs) {
        const producer = order.get(input);
        if (producer !== undefined) expect(producer).toBeLessThan(index);
      }
    });
  });

  it('two Gemm contributions become one Gemm whose C is the other', () => {
    const graph = new Graph();
    const x = graph.input('x', 'float32', [2, 3]);
    const w = graph.initializer('w', 'float32', [3, 3], new Float32Array(9).fill(0.1));
    const loss = graph.reduceSum(
      graph.add(graph.gemm(x, w), graph.gemm(x, w, undefined, { transB: true })),
      undefined,
      false,
    );
    const dx = addGradients(graph, { loss, wrt: [x] }).get('x') as Value;
    const producer = graph.producers.get(dx.name);
    expect(producer?.opType).toBe('Gemm');
    expect(producer?.inputs).toHaveLength(3);
  });
});

describe('constantReshape', () => {
  it('copies symbols found at the same axis, infers one other, gives up on two', () => {
    expect(constantReshape(['batch', 'sequence', 4, 2], ['batch', 'sequence', 8])).toEqual([0, 0, 8]);
    expect(constantReshape(['batch', 'sequence', 8], ['batch*sequence', 8])).toEqual([-1, 8]);
    expect(constantReshape(['batch*sequence', 8], ['batch', 'sequence', 8])).toBeUndefined();
    expect(constantReshape(['batch', 4], [0, 'batch'])).toBeUndefined();
  });
});
