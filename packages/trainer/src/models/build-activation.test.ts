import { describe, expect, it } from 'vitest';
import { addGradients } from '../autodiff/add-gradients.js';
import { checkGradients } from '../autodiff/check-gradients.js';
import { Graph, type Value } from '../onnx/graph.js';
import { buildActivation } from './build-activation.js';

describe('buildActivation', () => {
  it.each(['gelu_new', 'silu', 'relu'] as const)(
    '%s: the gradient matches float64 central differences',
    async (name) => {
      const result = await checkGradients({
        // A second use of x outside the activation checks that its own gradient path still counts.
        build: (graph, [x]) =>
          graph.add(buildActivation(graph, x as Value, name), graph.mul(x as Value, x as Value)),
        inputs: [{ shape: [4, 6], offset: 0.1 }],
      });
      for (const error of result.relativeErrors) expect(error).toBeLessThan(1e-6);
    },
  );

  it.each([
    ['gelu_new', 7],
    ['silu', 4],
  ] as const)(
    '%s backward is one fused expression of %d operators (no per-operator rules)',
    (name, count) => {
      const graph = new Graph({ name: 'activation' });
      const x = graph.input('x', 'float32', [2, 3]);
      const y = buildActivation(graph, x, name);
      const forwardNodes = graph.nodes.length;
      addGradients(graph, { loss: graph.reduceSum(y, undefined, false), wrt: [x] });
      const backward = graph.nodes.slice(forwardNodes).filter((node) => node.name.includes('grad/'));
      const activationBackward = backward.filter((node) => !node.name.includes('ReduceSum'));
      expect(activationBackward.map((node) => node.opType).sort()).toHaveLength(count);
    },
  );
});
