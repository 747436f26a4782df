import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TunekitError } from '@tunekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModel } from '../models/create-model.js';
import { createTinyGpt2 } from '../testing/create-tiny-gpt2.js';
import { createTrainer } from './create-trainer.js';

const text = 'the cat sat on the mat. the cat ate the rat. ';
const rows = Array.from({ length: 16 }, (_, index) => ({ text: text.repeat(1 + (index % 3)) }));
const options = { maxSteps: 8, batchSize: 4, maxLength: 32, learningRate: 0.01, shuffle: false };

describe('mixed precision training (createTrainer({ precision }))', () => {
  let folder: string;
  const models: Record<'gpt2' | 'llama', string> = { gpt2: '', llama: '' };

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'tunekit-mixed-precision-'));
    models.gpt2 = await createTinyGpt2(join(folder, 'gpt2'));
    models.llama = join(folder, 'llama');
    await createModel({
      architecture: 'llama',
      directory: models.llama,
      hidden_size: 32,
      intermediate_size: 64,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      max_position_embeddings: 64,
      seed: 5,
    });
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  const train = async (
    model: string,
    precision: 'float32' | 'float16',
    extra: Record<string, unknown> = {},
    trainable: 'lora' | 'full' = 'lora',
  ) => {
    const trainer = await createTrainer({
      model,
      lora: trainable === 'lora' ? { r: 4 } : undefined,
      trainable,
      precision,
      threads: 1,
    });
    try {
      const result = await trainer.train(rows, { ...options, ...extra });
      const loraB = [...(trainer.adapters?.weights ?? [])]
        .filter(([name]) => name.includes('lora_B'))
        .map(([, tensor]) => tensor.data);
      return { result, loraB };
    } finally {
      await trainer.close();
    }
  };

  it.each([
    ['gpt2', 'lora'],
    ['llama', 'lora'],
    ['llama', 'full'],
  ] as const)(
    '%s %s: the float16 loss curve tracks float32 within 0.5% at every step',
    async (name, trainable) => {
      const reference = await train(models[name], 'float32', {}, trainable);
      const half = await train(models[name], 'float16', {}, trainable);
      expect(reference.result.lossHistory).toHaveLength(8);
      expect(half.result.lossHistory).toHaveLength(8);
      // It learns.
      expect(half.result.lossHistory.at(-1) as number).toBeLessThan(half.result.lossHistory[0] as number);
      half.result.lossHistory.forEach((loss, step) => {
        const want = reference.result.lossHistory[step] as number;
        expect(Math.abs(loss - want), `step ${step + 1}`).toBeLessThan(5e-3 * want);
      });
      expect(reference.result.lossScale).toBeUndefined();
      expect(half.result.lossScale).toBe(2 ** 16);
      expect(half.result.overflowSteps).toEqual([]);
    },
  );

  it('an overflow at the loss scale skips the step (the adapters do not move) and halves the scale', async () => {
    // On CUDA a float16 product overflows above 65,504. onnxruntime's CPU provider has no float16
    // MatMul/Gemm kernel on x86: it computes them in float32 (inserted casts), so the overflow is
    // forced in float32 here: 2^128 is infinite in float32, and every scaled gradient with it.
    const overflowing = await train(models.gpt2, 'float16', {
      maxSteps: 1,
      lossScaling: { initialScale: 2 ** 128 },
    });
    expect(overflowing.result.overflowSteps).toEqual([1]);
    expect(overflowing.result.lossScale).toBe(2 ** 127);
    expect(overflowing.result.skippedSteps).toEqual([]);
    expect(overflowing.result.lossHistory.every(Number.isFinite)).toBe(true);
    // The skipped step left the adapters as they started: every lora_B still all zeros.
    expect(overflowing.loraB.length).toBeGreaterThan(0);
    for (const data of overflowing.loraB) expect(data.every((value) => value === 0)).toBe(true);
    // A finite step at the halved scale trains.
    const finite = await train(models.gpt2, 'float16', {
      maxSteps: 1,
      lossScaling: { initialScale: 2 ** 10 },
    });
    expect(finite.result.overflowSteps).toEqual([]);
    for (const data of finite.loraB) expect(data.some((value) => value !== 0)).toBe(true);
  });

  it('the loss scale grows by growthFactor after growthInterval finite steps', async () => {
    const growing = await train(models.llama, 'float16', {
      maxSteps: 5,
      lossScaling: { initialScale: 2 ** 10, growthInterval: 2, growthFactor: 4 },
    });
    expect(growing.result.overflowSteps).toEqual([]);
    expect(growing.result.lossScale).toBe(2 ** 14);
  });

  it('a resumed float16 run continues with the saved loss scale', async () => {
    const directory = join(folder, 'checkpoints');
    const scaling = { initialScale: 2 ** 4, growthInterval: 1 };
    const first = await train(models.gpt2, 'float16', {
      maxSteps: 2,
      lossScaling: scaling,
      checkpoint: { directory },
    });
    expect(first.result.lossScale).toBe(2 ** 6);
    const resumed = await train(models.gpt2, 'float16', {
      maxSteps: 3,
      lossScaling: scaling,
      checkpoint: { directory },
      resume: true,
    });
    expect(resumed.result.lossScale).toBe(2 ** 7);
  });

  it('warns that float16 on the CPU computes in float32, refuses bfloat16 there with PRECISION_UNSUPPORTED and an unknown precision with VALIDATION_FAILED', async () => {
    const warnings: string[] = [];
    const float16 = await createTrainer({
      model: models.gpt2,
      lora: { r: 4 },
      precision: 'float16',
      events: {
        emit: (name, payload) =>
          void (name === 'warning:raised' && warnings.push(String((payload as { message: string }).message))),
      },
    });
    await float16.train(rows, { ...options, maxSteps: 1 });
    await float16.close();
    expect(warnings.some((message) => /computes the products in float32/.test(message))).toBe(true);
    const bfloat16 = await createTrainer({ model: models.gpt2, lora: { r: 4 }, precision: 'bfloat16' });
    const error = await bfloat16.train(rows, options).catch((caught: unknown) => caught);
    expect(TunekitError.isInstance(error) && error.code).toBe('PRECISION_UNSUPPORTED');
    expect((error as TunekitError).status).toBe(422);
    expect((error as Error).message).toMatch(/no bfloat16 MatMul/);
    await bfloat16.close();
    const unknown = await createTrainer({
      model: models.gpt2,
      lora: { r: 4 },
      precision: 'float8' as 'float16',
    });
    const invalid = await unknown.train(rows, options).catch((caught: unknown) => caught);
    expect(TunekitError.isInstance(invalid) && invalid.code).toBe('VALIDATION_FAILED');
    await unknown.close();
  });
});
