import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTunekit, type TrainingJobInputInput } from '@tunekit/core';
import { trainerPlugin } from '@tunekit/trainer';
import { createTinyGpt2 } from '@tunekit/trainer/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let directory: string;
let model: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tunekit-train-quantized-'));
  model = await createTinyGpt2(join(directory, 'model'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('a train job on a 4-bit base (QLoRA-style) through the kit', () => {
  it.each([
    { worker: true, label: 'in a worker thread' },
    { worker: false, label: 'in process' },
  ])('trains LoRA on the quantized base $label and saves the adapter', async ({ worker }) => {
    const kit = await createTunekit({ plugins: [trainerPlugin({ worker })] });
    try {
      const version = await kit.datasets.register({
        name: 'notes',
        kind: 'training',
        source: {
          rows: Array.from({ length: 16 }, () => ({ text: 'the cat sat on the mat. the cat ate the rat.' })),
        },
      });
      const job = await kit.jobs.submit('train', {
        baseModel: model,
        dataset: { versionId: version.id },
        outputName: `notes-q4-${worker}`,
        lora: { r: 4, alpha: 8 },
        hyperparameters: { maxSteps: 8, batchSize: 4, learningRate: 0.01, maxLength: 32 },
        quantization: { bits: 4, blockSize: 16 },
      } satisfies TrainingJobInputInput);
      const done = await kit.jobs.wait(job.id, { timeoutMs: 120_000 });
      expect(done.error).toBeUndefined();
      expect(done.status).toBe('succeeded');
      const output = done.output as { steps: number; finalLoss: number };
      expect(output.steps).toBe(8);
      expect(Number.isFinite(output.finalLoss)).toBe(true);
      expect(
        await kit.artifacts.exists(
          `artifact://models/notes-q4-${worker}/${job.id}/adapter_model.safetensors`,
        ),
      ).toBe(true);
      // The setting reaches the trainer on this path: blocks of 64 do not divide the model's width of 32.
      const refused = await kit.jobs.submit('train', {
        baseModel: model,
        dataset: { versionId: version.id },
        outputName: `notes-q4-bad-${worker}`,
        lora: { r: 4, alpha: 8 },
        hyperparameters: { maxSteps: 1, batchSize: 4, maxLength: 32 },
        quantization: { bits: 4, blockSize: 64 },
      } satisfies TrainingJobInputInput);
      const failed = await kit.jobs.wait(refused.id, { timeoutMs: 120_000 });
      expect(failed.status).toBe('failed');
      expect(failed.error?.code).toBe('VALIDATION_FAILED');
    } finally {
      await kit.close();
    }
  });

  it('refuses a quantized base for full fine-tuning at submit (VALIDATION_FAILED, nothing queued)', async () => {
    const kit = await createTunekit({ plugins: [trainerPlugin({ worker: false })] });
    try {
      const refused = await kit.jobs
        .submit('train', {
          baseModel: model,
          quantization: { bits: 4, blockSize: 16 },
          dataset: { rows: [{ text: 'hello there' }] },
          hyperparameters: { maxSteps: 1 },
        })
        .catch((caught: unknown) => caught);
      expect((refused as { code?: string }).code).toBe('VALIDATION_FAILED');
      expect((refused as Error).message).toMatch(/quantization: a 4-bit quantized base needs lora/);
      expect((await kit.jobs.list()).items).toEqual([]);
    } finally {
      await kit.close();
    }
  });
});
