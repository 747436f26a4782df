import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTokenizer } from '../tokenizers/load-tokenizer.js';
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
    // A misspelled option is named (it used to be a Node TypeError about a `path` argument).
    const misspelled = await createModel({
      architecture: 'gpt2',
      outputDir: join(directory, 'x'),
    } as never).catch((caught: unknown) => caught);
    expect(misspelled).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect((misspelled as Error).message).toContain('directory');
    const unknownKey = await createModel({ architecture: 'gpt2', directory, outputDir: 'x' }).catch(
      (caught: unknown) => caught,
    );
    expect((unknownKey as Error).message).toMatch(
      /Unknown createModel option "outputDir" for gpt2: use architecture, directory/,
    );
    await writeFile(join(empty, 'model.safetensors'), Buffer.alloc(0));
    await expect(loadModel(empty)).rejects.toMatchObject({ code: 'SAFETENSORS_INVALID' });
    await expect(loadModel(join(directory, 'nothing'))).rejects.toMatchObject({ code: 'MODEL_INVALID' });
  });

  it('gives a causal model without vocab_size the byte-level vocabulary and writes its tokenizer (bos/eos inside)', async () => {
    const folder = join(directory, 'byte-level');
    const config = await createModel({
      architecture: 'gpt2',
      directory: folder,
      n_layer: 1,
      n_embd: 8,
      n_head: 2,
    });
    expect(config).toMatchObject({ vocab_size: 257, bos_token_id: 256, eos_token_id: 256 });
    const tokenizer = await loadTokenizer(folder);
    expect(tokenizer.vocabSize).toBe(257);
    expect(tokenizer.specialTokens.eos).toBe(256);
    expect(tokenizer.decode(tokenizer.encode('héllo'))).toBe('héllo');
    await expect(
      createModel({ architecture: 'gpt2', directory: folder, vocab_size: 100, tokenizer: 'byte-level' }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
