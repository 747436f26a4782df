import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { onnx as OnnxNamespace } from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveLoraConfig } from '../lora/lora-config.js';
import { createModel } from '../models/create-model.js';
import { loadModel } from '../models/load-model.js';
import { createTinyGpt2 } from '../testing/create-tiny-gpt2.js';
import { createByteLevelTokenizer } from '../tokenizers/byte-level-tokenizer.js';
import { createTrainer } from '../train/create-trainer.js';

const text = 'the cat sat on the mat. the cat ate the rat. ';
const rows = Array.from({ length: 32 }, (_, index) => ({ text: text.repeat(1 + (index % 3)) }));
const validation = [{ text: 'the cat sat on the rat. the mat ate the cat.' }];
const llamaModules = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

async function decodeModel(bytes: Uint8Array): Promise<OnnxNamespace.IModelProto> {
  const { createRequire } = await import('node:module');
  const onnx = (createRequire(import.meta.url)('onnx-proto') as { onnx: typeof OnnxNamespace }).onnx;
  return onnx.ModelProto.decode(bytes);
}

describe('LoRA on a 4-bit frozen base (createTrainer({ quantization }))', () => {
  let folder: string;
  let llamaDirectory: string;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'tunekit-qlora-'));
    llamaDirectory = join(folder, 'llama');
    const tokenizer = createByteLevelTokenizer();
    await createModel({
      architecture: 'llama',
      directory: llamaDirectory,
      vocab_size: tokenizer.vocabSize,
      hidden_size: 64,
      intermediate_size: 128,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      max_position_embeddings: 64,
      bos_token_id: 256,
      eos_token_id: 256,
      seed: 3,
      // Larger than Hugging Face's 0.02 so that adapters on a random base can lower the loss quickly.
      initializer_range: 0.2,
    });
    await tokenizer.save(llamaDirectory);
  });

  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('tiny Llama: the training graph stores int4 linear weights (MatMulNBits, com.microsoft opset) and the loss falls', async () => {
    const model = await loadModel(llamaDirectory);
    const graph = model.architecture.buildTrainingGraph({
      config: model.config,
      weights: model.weights,
      lora: {
        config: resolveLoraConfig({ r: 8, alpha: 16, targetModules: llamaModules }),
      },
      trainable: 'lora',
      dropout: false,
      quantization: { bits: 4, blockSize: 32 },
    });
    const proto = await decodeModel(graph.model);
    expect(proto.opsetImport?.map((opset) => opset.domain)).toEqual(['', 'com.microsoft']);
    const opTypes = proto.graph?.node?.map((node) => node.opType) ?? [];
    expect(opTypes.filter((opType) => opType === 'MatMulNBits')).toHaveLength(14);
    const initializers = proto.graph?.initializer ?? [];
    expect(initializers.some((tensor) => tensor.name?.endsWith('_proj.weight'))).toBe(false);
    expect(initializers.filter((tensor) => tensor.name?.endsWith('.weight.int4'))).toHaveLength(14);

    const trainer = await createTrainer({
      model: llamaDirectory,
      lora: { r: 8, alpha: 16, targetModules: llamaModules },
      quantization: { bits: 4, blockSize: 32 },
      threads: 1,
    });
    const before = await trainer.evaluate(validation, { maxLength: 32 });
    const result = await trainer.train(rows, {
      maxSteps: 30,
      batchSize: 4,
      maxLength: 32,
      learningRate: 1e-2,
    });
    const after = await trainer.evaluate(validation, { maxLength: 32 });
    expect(result.lossHistory.every(Number.isFinite)).toBe(true);
    // Measured: 7.03 → 0.82 (the float base: 6.95 → 0.74).
    expect(result.lossHistory.at(-1)).toBeLessThan((result.lossHistory[0] as number) * 0.3);
    expect(after.loss).toBeLessThan(before.loss * 0.5);
    // Generation runs on the same 4-bit base with the trained adapters as a float32 branch.
    expect((await trainer.generate('the c', { temperature: 0, maxTokens: 4 })).text).toHaveLength(4);
    await trainer.close();
  });

  it('tiny GPT-2 (Conv1D [in, out] weights): the quantized graph trains too', async () => {
    const directory = await createTinyGpt2(join(folder, 'gpt2'), { initializer_range: 0.2 });
    const trainer = await createTrainer({
      model: directory,
      lora: { r: 4, alpha: 8, targetModules: ['c_attn', 'c_proj', 'c_fc'] },
      quantization: { bits: 4, blockSize: 16 },
      threads: 1,
    });
    const result = await trainer.train(rows, {
      maxSteps: 20,
      batchSize: 4,
      maxLength: 32,
      learningRate: 1e-2,
    });
    expect(result.lossHistory.at(-1)).toBeLessThan((result.lossHistory[0] as number) * 0.7);
    await trainer.close();
  });

  it('refuses full fine-tuning with a quantized base, and a block size that does not divide a layer', async () => {
    await expect(
      createTrainer({ model: llamaDirectory, trainable: 'full', quantization: { bits: 4, blockSize: 32 } }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    const model = await loadModel(llamaDirectory);
    expect(() =>
      model.architecture.buildTrainingGraph({
        config: model.config,
        weights: model.weights,
        lora: {
          config: resolveLoraConfig({ r: 4, alpha: 8, targetModules: ['q_proj'] }),
        },
        trainable: 'lora',
        dropout: false,
        quantization: { bits: 4, blockSize: 128 },
      }),
    ).toThrow(/blockSize 128 does not divide/);
  });
});
