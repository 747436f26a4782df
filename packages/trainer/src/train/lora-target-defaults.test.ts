import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModel } from '../models/create-model.js';
import { createTrainer } from './create-trainer.js';

let directory: string;
let llama: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tunekit-lora-defaults-'));
  llama = join(directory, 'llama');
  await createModel({
    architecture: 'llama',
    directory: llama,
    hidden_size: 16,
    intermediate_size: 32,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    num_key_value_heads: 2,
    max_position_embeddings: 32,
  });
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('LoRA target modules per architecture', () => {
  it('defaults a Llama to q_proj and v_proj, and trains', async () => {
    const trainer = await createTrainer({ model: llama, lora: { r: 2, alpha: 4 }, threads: 1 });
    try {
      const result = await trainer.train([{ text: 'hello llama' }, { text: 'hello again' }], {
        maxSteps: 1,
        batchSize: 2,
        maxLength: 16,
      });
      expect(result.steps).toBe(1);
    } finally {
      await trainer.close();
    }
  });

  it('refuses GPT-2 names on a Llama in createTrainer, naming the modules it has and the default', async () => {
    const refused = await createTrainer({ model: llama, lora: { targetModules: ['c_attn'] } }).catch(
      (caught: unknown) => caught,
    );
    expect(refused).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect((refused as Error).message).toMatch(
      /match no module of this llama model; its linear modules are .*q_proj/,
    );
    expect((refused as Error).message).toContain('default, q_proj, v_proj');
  });
});
