/**
 * This machine's float32 MatMul peak through onnxruntime: the best of `repeats` runs of one large
 * square MatMul (`n × n · n × n`, 2n³ FLOP) on `threads` intra-op threads. The denominator of the
 * benches' efficiency share.
 */
import { createDeviceSession, loadOnnxRuntime } from '@tunekit/trainer';
import { Graph, serializeModel } from '@tunekit/trainer/onnx';

export async function measureMatmulPeak(threads: number, n = 2048, repeats = 6): Promise<number> {
  const ort = await loadOnnxRuntime();
  const graph = new Graph({ name: 'matmul-peak' });
  const a = graph.input('a', 'float32', [n, n]);
  const b = graph.input('b', 'float32', [n, n]);
  graph.output(graph.matmul(a, b), 'c');
  const { session } = await createDeviceSession(serializeModel(graph).model, { threads });
  const values = Float32Array.from({ length: n * n }, (_, index) => ((index * 7919) % 1000) / 1000 - 0.5);
  const feeds = {
    a: new ort.Tensor('float32', values, [n, n]),
    b: new ort.Tensor('float32', values, [n, n]),
  };
  let best = Number.POSITIVE_INFINITY;
  for (let repeat = 0; repeat < repeats; repeat++) {
    const started = performance.now();
    await session.run(feeds);
    best = Math.min(best, (performance.now() - started) / 1000);
  }
  await session.release();
  return (2 * n ** 3) / best;
}
