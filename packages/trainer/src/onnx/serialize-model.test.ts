import { createRequire } from 'node:module';
import type { onnx as OnnxNamespace } from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { Graph } from './graph.js';
import { serializeModel } from './serialize-model.js';

const onnx = (createRequire(import.meta.url)('onnx-proto') as { onnx: typeof OnnxNamespace }).onnx;

describe('serializeModel: output renames', () => {
  it('lets the producing node write an output name instead of an Identity, unless the value is read elsewhere', async () => {
    const graph = new Graph();
    const x = graph.input('x', 'float32', [2]);
    const doubled = graph.add(x, x);
    const squared = graph.mul(x, x);
    graph.output(doubled, 'doubled'); // read only by its output Identity: renamed
    graph.output(squared, 'squared'); // also read by the Add below: the Identity stays
    graph.output(graph.add(squared, x), 'sum');
    graph.output(x, 'copy'); // a graph input: the Identity stays
    const { model } = serializeModel(graph);
    const nodes = onnx.ModelProto.decode(model).graph?.node ?? [];
    expect(nodes.filter((node) => node.opType === 'Identity').map((node) => node.output?.[0])).toEqual([
      'squared',
      'copy',
    ]);
    expect(nodes.find((node) => node.opType === 'Add')?.output).toEqual(['doubled']);
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(model);
    const result = await session.run({ x: new ort.Tensor('float32', Float32Array.from([2, 3]), [2]) });
    expect(Array.from(result.doubled?.data as Float32Array)).toEqual([4, 6]);
    expect(Array.from(result.squared?.data as Float32Array)).toEqual([4, 9]);
    expect(Array.from(result.sum?.data as Float32Array)).toEqual([6, 12]);
    expect(Array.from(result.copy?.data as Float32Array)).toEqual([2, 3]);
    await session.release();
  });
});
