import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Graph } from '../onnx/graph.js';
import { saveSerializedModel, serializeModel, serializeModelAuto } from '../onnx/serialize-model.js';
import { SafetensorsReader, writeSafetensors } from '../safetensors/safetensors-file.js';
import { createGraphSession, TRAINING_SESSION_EXTRA } from './create-graph-session.js';
import { cpuBackend, loadOnnxRuntime } from './onnxruntime-backend.js';
import type { BackendSessionOptions, TrainerBackend } from './trainer-backend.js';

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

  it('lets onnxruntime read lazily loaded weights from the checkpoint itself: no copy, no temporary folder', async () => {
    const ort = await loadOnnxRuntime();
    const directory = await mkdtemp(join(tmpdir(), 'tunekit-checkpoint-'));
    try {
      const weight = Float32Array.from({ length: 512 * 512 }, (_, index) => ((index * 31) % 11) - 5);
      const bias = Float32Array.from({ length: 512 }, (_, index) => index / 8);
      await writeSafetensors(
        join(directory, 'model.safetensors'),
        new Map([
          ['bias', { shape: [512], data: bias }],
          ['w', { shape: [512, 512], data: weight }],
        ]),
      );
      const reader = await SafetensorsReader.open(join(directory, 'model.safetensors'));
      const lazyWeight = await reader.readLazily('w');
      const lazyBias = await reader.readLazily('bias');
      await reader.close();
      const build = (w: typeof lazyWeight, b: typeof lazyBias) => {
        const graph = new Graph({ name: 'referenced' });
        const x = graph.input('x', 'float32', [2, 512]);
        const y = graph.gemm(
          x,
          graph.initializer('w', 'float32', [512, 512], w),
          graph.initializer('b', 'float32', [512], b),
          { transB: true },
        );
        graph.output(y, 'y');
        return graph;
      };
      // Far within the default threshold, referenced anyway when asked (training graphs do).
      const anySize = serializeModelAuto(build(lazyWeight, lazyBias), undefined, {
        referenceFilesAtAnySize: true,
      });
      expect(anySize.externalFolder).toBe(directory);
      expect(anySize.model.byteLength).toBeLessThan(4096);
      const serialized = serializeModelAuto(build(lazyWeight, lazyBias), 1024);
      // The weights stay unread: the model references the checkpoint's bytes.
      expect(lazyWeight.file).toBeDefined();
      expect(serialized.externalData).toBeUndefined();
      expect(serialized.externalFolder).toBe(directory);
      expect(serialized.model.byteLength).toBeLessThan(4096);
      const before = readdirSync(tmpdir()).filter((name) => name.startsWith('tunekit-graph-')).length;
      const referenced = await createGraphSession(serialized);
      expect(readdirSync(tmpdir()).filter((name) => name.startsWith('tunekit-graph-')).length).toBe(before);
      const input = Float32Array.from({ length: 2 * 512 }, (_, index) => Math.sin(index));
      const feeds = { x: new ort.Tensor('float32', input, [2, 512]) };
      const y = (await referenced.session.run(feeds)).y?.data as Float32Array;
      await referenced.session.release();
      // The same graph with the values in memory (embedded, same session settings) computes the same outputs.
      const embedded = await createGraphSession(
        serializeModel(build({ shape: [512, 512], data: weight }, { shape: [512], data: bias })),
        { extra: TRAINING_SESSION_EXTRA },
      );
      const expected = (await embedded.session.run(feeds)).y?.data as Float32Array;
      await embedded.session.release();
      expect(Array.from(y)).toEqual(Array.from(expected));
      // Saved elsewhere, the referenced checkpoint file is copied beside the model.
      const saved = await saveSerializedModel(serialized, join(directory, 'saved'));
      const fromPath = await ort.InferenceSession.create(saved, { extra: { ...TRAINING_SESSION_EXTRA } });
      expect(Array.from((await fromPath.run(feeds)).y?.data as Float32Array)).toEqual(Array.from(expected));
      await fromPath.release();
      // Once the values are read (and may change in place), the graph embeds or copies them.
      expect(lazyWeight.data[0]).toBe(weight[0]);
      expect(serializeModelAuto(build(lazyWeight, lazyBias), 1024).externalFolder).toBeUndefined();
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('opens large graphs without pre-packing and without a memory pattern unless asked otherwise', async () => {
    const seen: Array<BackendSessionOptions | undefined> = [];
    const cpu = cpuBackend();
    const recording: TrainerBackend = {
      ...cpu,
      createSession: (model, options) => {
        seen.push(options);
        return cpu.createSession(model, options);
      },
    };
    const graph = new Graph({ name: 'large' });
    const x = graph.input('x', 'float32', [1, 256]);
    graph.output(
      graph.gemm(x, graph.initializer('w', 'float32', [256, 256], new Float32Array(256 * 256))),
      'y',
    );
    const large = serializeModelAuto(graph, 1024);
    await (await createGraphSession(large, { backends: { cpu: recording } })).session.release();
    await (
      await createGraphSession(large, { backends: { cpu: recording }, memoryPattern: true })
    ).session.release();
    await (
      await createGraphSession(serializeModel(graph), { backends: { cpu: recording } })
    ).session.release();
    expect(
      seen.map((options) => [options?.memoryPattern, options?.extra?.['session.disable_prepacking']]),
    ).toEqual([
      [false, '1'],
      [true, '1'],
      [undefined, undefined],
    ]);
  });
});
