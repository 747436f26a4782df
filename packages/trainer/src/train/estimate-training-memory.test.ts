import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTinyGpt2 } from '../testing/create-tiny-gpt2.js';
import {
  ACTIVATION_BYTES_PER_UNIT,
  BYTES_PER_TRAINABLE_PARAMETER,
  estimateTrainingMemory,
  readModelMemoryShape,
} from './estimate-training-memory.js';

describe('estimateTrainingMemory', () => {
  it('adds the weights, 16 bytes per trainable LoRA parameter and the activations', () => {
    const estimate = estimateTrainingMemory({
      modelBytes: 1_000_000,
      hiddenSize: 768,
      layers: 12,
      batchSize: 8,
      sequenceLength: 512,
      lora: { r: 16, modulesPerLayer: 4 },
    });
    // 16 × 2 × 768 per module, 4 modules, 12 layers.
    expect(estimate.trainableParameters).toBe(16 * 2 * 768 * 4 * 12);
    expect(estimate.trainingStateBytes).toBe(estimate.trainableParameters * BYTES_PER_TRAINABLE_PARAMETER);
    expect(estimate.activationBytes).toBe(8 * 512 * 768 * 12 * ACTIVATION_BYTES_PER_UNIT);
    expect(estimate.totalBytes).toBe(1_000_000 + estimate.trainingStateBytes + estimate.activationBytes);
  });

  it('trains every fp32 weight without LoRA, and grows with batch and length', () => {
    const full = estimateTrainingMemory({
      modelBytes: 400_000_000,
      hiddenSize: 1024,
      layers: 24,
      batchSize: 1,
      sequenceLength: 128,
    });
    expect(full.trainableParameters).toBe(100_000_000);
    expect(full.trainingStateBytes).toBe(1_600_000_000);
    const bigger = estimateTrainingMemory({
      modelBytes: 400_000_000,
      hiddenSize: 1024,
      layers: 24,
      batchSize: 4,
      sequenceLength: 256,
    });
    expect(bigger.activationBytes).toBe(full.activationBytes * 8);
  });

  it('rejects a shape that cannot be estimated', () => {
    expect(() =>
      estimateTrainingMemory({ modelBytes: 0, hiddenSize: 0, layers: 1, batchSize: 1, sequenceLength: 1 }),
    ).toThrow();
  });

  it('reads the width, layers, positions and safetensors bytes of a model folder', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'tunekit-estimate-'));
    try {
      const folder = await createTinyGpt2(join(directory, 'tiny'));
      const shape = await readModelMemoryShape(folder);
      expect(shape).toMatchObject({ hiddenSize: 32, layers: 2, maxPositions: 64 });
      expect(shape?.modelBytes).toBeGreaterThan(32 * 257 * 4);
      const broken = join(directory, 'broken');
      await createTinyGpt2(broken);
      await writeFile(join(broken, 'config.json'), '{"model_type":"gpt2"}');
      expect(await readModelMemoryShape(broken)).toBeUndefined();
      expect(await readModelMemoryShape(join(directory, 'missing'))).toBeUndefined();
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
