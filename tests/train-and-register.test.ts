import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTunekit, type TrainingJobOutput, type TunekitEventMap } from '@tunekit/core';
import { RegistryKey, registryPlugin } from '@tunekit/registry';
import { trainerPlugin } from '@tunekit/trainer';
import { createTinyGpt2 } from '@tunekit/trainer/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

let directory: string;
let model: string;
const rows = Array.from({ length: 16 }, (_, index) => ({
  text: `polite reply number ${index}, thank you. `,
}));

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tunekit-train-register-'));
  model = await createTinyGpt2(join(directory, 'model'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('a train job with registerAs', () => {
  it('registers the trained adapter as a draft version with its card next to the adapter files', async () => {
    const kit = await createTunekit({
      dataDirectory: join(directory, 'kit'),
      plugins: [trainerPlugin({ worker: false }), registryPlugin()],
    });
    try {
      const registered = new Promise<TunekitEventMap['model:registered']>((resolve) => {
        kit.events.once('model:registered', resolve);
      });
      const job = await kit.jobs.submit(
        'train',
        {
          baseModel: model,
          lora: { r: 4, alpha: 8 },
          threads: 1,
          dataset: { rows },
          hyperparameters: { maxSteps: 4, batchSize: 4, maxLength: 32, learningRate: 1e-2 },
          outputName: 'polite',
          registerAs: {
            name: 'polite-gpt2',
            tags: ['tone'],
            description: 'A tiny polite adapter',
            language: 'en',
          },
        },
        { owner: 'ada' },
      );
      const finished = await kit.jobs.wait(job.id);
      expect(finished.status).toBe('succeeded');
      // Registered before the job counted as succeeded: the output names the version.
      expect((finished.output as TrainingJobOutput).registered?.reference).toBe('polite-gpt2@1');
      expect((await registered).trainingJobId).toBe(job.id);

      const registry = kit.get(RegistryKey);
      const version = await registry.require('polite-gpt2@latest');
      expect(version).toMatchObject({
        id: 'polite-gpt2@1',
        stage: 'draft',
        artifactUri: `artifact://models/polite/${job.id}`,
        baseModel: model,
        baseModelRelation: 'adapter',
        trainingJobId: job.id,
        createdBy: 'ada',
      });
      expect(version.metrics.steps).toBe(4);
      expect(Number.isFinite(version.metrics.finalLoss)).toBe(true);
      expect(version.trainingParameters).toMatchObject({ maxSteps: 4, lora: { r: 4, alpha: 8 } });
      const files = (await kit.artifacts.list(`artifact://models/polite/${job.id}/`))
        .map((info) => info.uri)
        .sort();
      expect(files).toEqual(
        expect.arrayContaining([
          `artifact://models/polite/${job.id}/README.md`,
          `artifact://models/polite/${job.id}/adapter_config.json`,
          `artifact://models/polite/${job.id}/adapter_model.safetensors`,
          `artifact://models/polite/${job.id}/model-card.json`,
        ]),
      );
      const readme = new TextDecoder().decode(
        await kit.artifacts.get(`artifact://models/polite/${job.id}/README.md`),
      );
      const matter = parseYaml(readme.split(/^---$/m)[1] as string);
      expect(matter).toMatchObject({
        base_model: model,
        base_model_relation: 'adapter',
        library_name: 'peft',
      });
      expect(matter.metrics).toContain('finalLoss');
      expect((await registry.lineage(version.id)).trainingJob?.status).toBe('succeeded');
    } finally {
      await kit.close();
    }
  });
});
