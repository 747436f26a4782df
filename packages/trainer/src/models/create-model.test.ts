import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getArchitecture } from './architecture-registry.js';
import { createModel } from './create-model.js';
import { loadModel } from './load-model.js';

describe('createModel / loadModel', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'tunekit-model-'));
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('writes a random GPT-2 folder that loads back with Hugging Face names and config', async () => {
    const folder = join(directory, 'gpt2');
    await createModel({
      architecture: 'gpt2',
      vocab_size: 50,
      n_positions: 16,
      n_embd: 8,
      n_layer: 1,
      n_head: 2,
      directory: folder,
      seed: 5,
    });
    const config = JSON.parse(await readFile(join(folder, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ model_type: 'gpt2', n_embd: 8, activation_function: 'gelu_new' });
    const model = await loadModel(folder);
    expect(model.architecture.name).toBe('gpt2');
    expect(model.weights.get('transformer.h.0.attn.c_attn.weight')?.shape).toEqual([8, 24]);
    expect(model.weights.get('transformer.ln_f.weight')?.data.every((value) => value === 1)).toBe(true);
    expect(model.weights.has('lm_head.weight')).toBe(false);
    const again = join(directory, 'again');
    await createModel({
      architecture: 'gpt2',
      vocab_size: 50,
      n_positions: 16,
      n_embd: 8,
      n_layer: 1,
      n_head: 2,
      directory: again,
      seed: 5,
    });
    expect((await loadModel(again)).weights.get('transformer.wte.weight')?.data).toEqual(
      model.weights.get('transformer.wte.weight')?.data,
    );
  });

  it('fails with coded errors for unknown architectures, bad configs and missing weights', async () => {
    expect(() => getArchitecture('mamba')).toThrow(
      expect.objectContaining({ code: 'MODEL_UNKNOWN_ARCHITECTURE' }),
    );
    await expect(createModel({ architecture: 'gpt2', n_layer: -1, directory })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    const empty = join(directory, 'empty');
    await createModel({
      architecture: 'gpt2',
      vocab_size: 10,
      n_positions: 4,
      n_embd: 4,
      n_layer: 1,
      n_head: 1,
      directory: empty,
    });
    await writeFile(join(empty, 'model.safetensors'), Buffer.alloc(0));
    await expect(loadModel(empty)).rejects.toMatchObject({ code: 'SAFETENSORS_INVALID' });
    await expect(loadModel(join(directory, 'nothing'))).rejects.toMatchObject({ code: 'MODEL_INVALID' });
  });
});
