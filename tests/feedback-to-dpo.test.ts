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
  directory = await mkdtemp(join(tmpdir(), 'tunekit-feedback-dpo-'));
  model = await createTinyGpt2(join(directory, 'model'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('RLHF loop: feedback → preference dataset → DPO train job', () => {
  it('exports corrections as { prompt, chosen, rejected } and a train job with dpo learns to prefer them', async () => {
    const kit = await createTunekit({ plugins: [trainerPlugin({ worker: false })] });
    try {
      for (let index = 0; index < 12; index++) {
        await kit.feedback.record({
          modelId: 'tone-v1',
          userId: `user-${index % 3}`,
          input: `Make this polite (${index % 4}):`,
          output: ' give it to me now.',
          correctedText: ' could you please pass it?',
          type: 'correction',
          tags: [],
        });
      }
      const exported = await kit.feedback.export({ as: 'preference', filter: { modelId: 'tone-v1' } });
      expect(exported.rows).toBe(12);
      const job = await kit.jobs.submit('train', {
        baseModel: model,
        dataset: { versionId: exported.version.id },
        outputName: 'tone-dpo',
        lora: { r: 4, alpha: 8 },
        hyperparameters: { maxSteps: 12, batchSize: 4, learningRate: 0.02, maxLength: 48 },
        dpo: { beta: 0.5 },
      } satisfies TrainingJobInputInput);
      const done = await kit.jobs.wait(job.id, { timeoutMs: 120_000 });
      expect(done.error).toBeUndefined();
      expect(done.status).toBe('succeeded');
      const output = done.output as { steps: number; finalLoss: number; output: string };
      expect(output.steps).toBe(12);
      // Starts at ln 2 (policy = reference); a falling DPO loss means the corrections gained reward.
      expect(output.finalLoss).toBeLessThan(0.4);
      expect(
        await kit.artifacts.exists(`artifact://models/tone-dpo/${job.id}/adapter_model.safetensors`),
      ).toBe(true);
    } finally {
      await kit.close();
    }
  });
});
