import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { Graph } from '../onnx/graph.js';
import { serializeModel, serializeModelAuto } from '../onnx/serialize-model.js';
import { createGraphSession } from './create-graph-session.js';
import { loadOnnxRuntime } from './onnxruntime-backend.js';

describe('createGraphSession', () => {
  it('opens a graph with external data from a temporary folder (removed afterwards) and computes with it', async () => {
    const ort = await loadOnnxRuntime();
    const graph = new Graph({ name: 'external' });
    const x = graph.input('x', 'float32', [2, 512]);
    const weight = Float32Array.from({ length: 512 * 512 }, (_, index) => (index % 7) - 3);
    graph.output(graph.gemm(x, graph.initializer('w', 'float32', [512, 512], weight)), 'y');
    const serialized = serializeModelAuto(graph, 1024);
    expect(serialized.externalData?.byteLength).toBeGreaterThanOrEqual(512 * 512 * 4);
    const before = readdirSync(tmpdir()).filter((name) => name.startsWith('tunekit-graph-')).length;
    const { session } = await createGraphSession(serialized);
    expect(readdirSync(tmpdir()).filter((name) => name.startsWith('tunekit-graph-')).length).toBe(before);
    const input = new Float32Array(2 * 512).fill(1);
    const result = await session.run({ x: new ort.Tensor('float32', input, [2, 512]) });
    const y = result.y?.data as Float32Array;
    // Column j sums weight[i][j] over i.
    const expected = Array.from({ length: 512 }, (_, column) =>
      Array.from({ length: 512 }, (_, row) => weight[row * 512 + column] as number).reduce(
        (a, b) => a + b,
        0,
      ),
    );
    expect(Array.from(y.slice(0, 512))).toEqual(expected);
    await session.release();
    // Without external data the bytes go straight to onnxruntime.
    const embedded = await createGraphSession(serializeModel(graph));
    await embedded.session.release();
  });
});
