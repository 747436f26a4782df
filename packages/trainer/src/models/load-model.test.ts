import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraphSession } from '../backends/create-graph-session.js';
import { loadOnnxRuntime } from '../backends/onnxruntime-backend.js';
import { resolveLoraConfig } from '../lora/lora-config.js';
import { createModel } from './create-model.js';
import { loadModel } from './load-model.js';
import type { TrainingGraph } from './model-architecture.js';

describe('loadModel (lazy weights)', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'tunekit-lazy-model-'));
    await createModel({
      architecture: 'qwen2',
      directory,
      seed: 3,
      vocab_size: 128,
      hidden_size: 64,
      intermediate_size: 128,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      max_position_embeddings: 64,
      tie_word_embeddings: true,
    });
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('leaves F32 weights in the checkpoint, and a training graph over them references the file with the same loss and gradients', async () => {
    const lazy = await loadModel(directory);
    const eager = await loadModel(directory, { lazy: false });
    const name = 'model.layers.0.mlp.down_proj.weight';
    expect(lazy.weights.get(name)?.file?.path).toBe(join(directory, 'model.safetensors'));
    expect(eager.weights.get(name)?.file).toBeUndefined();
    const lora = {
      config: resolveLoraConfig({ r: 4, alpha: 8, targetModules: ['q_proj', 'down_proj'] }),
      seed: 1,
    };
    const build = (model: typeof lazy) =>
      model.architecture.buildTrainingGraph({
        config: model.config,
        weights: model.weights,
        lora,
        trainable: 'lora',
        dropout: false,
        // Above 16 KiB the weights leave the model bytes (the 32 KiB embedding and MLP weights qualify).
        externalDataThreshold: 16 * 1024,
      });
    const referenced = build(lazy);
    const copied = build(eager);
    expect(referenced.externalFolder).toBe(directory);
    // Training graphs reference lazily loaded weights whatever their size (here far below the
    // default threshold): embedded, onnxruntime would copy them.
    const small = lazy.architecture.buildTrainingGraph({
      config: lazy.config,
      weights: lazy.weights,
      lora,
      trainable: 'lora',
      dropout: false,
    });
    expect(small.externalFolder).toBe(directory);
    expect(referenced.externalData).toBeUndefined();
    expect(copied.externalData?.byteLength).toBeGreaterThan(0);
    // Building and serializing did not read a single weight.
    expect([...lazy.weights.values()].every((tensor) => tensor.file !== undefined)).toBe(true);

    const ort = await loadOnnxRuntime();
    const ids = [5, 9, 2, 33, 17, 8, 1, 120];
    const run = async (graph: TrainingGraph) => {
      const { session } = await createGraphSession(graph, { threads: 1 });
      const int64 = (values: number[]) =>
        new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), [1, 8]);
      const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {
        input_ids: int64(ids),
        attention_mask: int64(ids.map(() => 1)),
        labels: int64(ids),
      };
      for (const parameter of graph.parameters) {
        feeds[parameter.inputName] = new ort.Tensor('float32', parameter.initial, parameter.shape);
      }
      const outputs = await session.run(feeds);
      await session.release();
      return {
        loss: Array.from(outputs.loss?.data as Float32Array)[0],
        gradients: graph.parameters.map((parameter) =>
          Array.from(outputs[parameter.gradientName]?.data as Float32Array),
        ),
      };
    };
    const fromFile = await run(referenced);
    const fromCopy = await run(copied);
    expect(fromFile.loss).toBeGreaterThan(0);
    expect(fromFile.loss).toBe(fromCopy.loss);
    expect(fromFile.gradients).toEqual(fromCopy.gradients);
    // The lazily loaded weights read back the same values as the eager load.
    expect(Array.from(lazy.weights.get(name)?.data ?? [])).toEqual(
      Array.from(eager.weights.get(name)?.data ?? []),
    );
  });
});
