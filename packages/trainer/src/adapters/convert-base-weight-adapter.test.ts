import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModel } from '../models/create-model.js';
import { type LoadedModel, loadModel } from '../models/load-model.js';
import type { LoraAdapters } from '../models/model-architecture.js';
import { readSafetensors } from '../safetensors/safetensors-file.js';
import { createTinyGpt2 } from '../testing/create-tiny-gpt2.js';
import { createTrainer } from '../train/create-trainer.js';
import { loadPeftAdapter } from './peft-adapter.js';

let directory: string;
let llama: string;
let gpt2: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tunekit-pissa-'));
  llama = join(directory, 'llama');
  await createModel({
    architecture: 'llama',
    directory: llama,
    vocab_size: 260,
    hidden_size: 16,
    intermediate_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    max_position_embeddings: 64,
    initializer_range: 0.2,
  });
  gpt2 = await createTinyGpt2(join(directory, 'gpt2'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

const ids = [[72, 101, 108, 108, 111, 32, 119, 111]];
async function logits(
  model: Pick<LoadedModel<unknown>, 'architecture' | 'config' | 'weights'>,
  lora?: LoraAdapters,
) {
  const ort = await import('onnxruntime-node');
  const graph = model.architecture.buildInferenceGraph({
    config: model.config,
    weights: model.weights,
    lora,
    kvCache: false,
  });
  const session = await ort.InferenceSession.create(graph.model);
  const shape = [1, ids[0]?.length ?? 0];
  const int64 = (values: number[]) => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), shape);
  const output = await session.run({
    input_ids: int64(ids.flat()),
    attention_mask: int64(ids.flat().map(() => 1)),
    position_ids: int64(ids.flat().map((_, index) => index)),
  });
  await session.release();
  return (output.logits as Tensor).data as Float32Array;
}
const maxDifference = (a: Float32Array, b: Float32Array) =>
  a.reduce((worst, value, index) => Math.max(worst, Math.abs(value - (b[index] as number))), 0);
const rows = Array.from({ length: 8 }, (_, index) => ({ text: `a stitch in time saves nine ${index}` }));

describe.each([
  ['llama', 'pissa', ['q_proj', 'v_proj']],
  ['llama', 'olora', ['q_proj', 'v_proj']],
  ['llama', 'pissa_niter_4', ['q_proj', 'v_proj']],
  ['gpt2', 'pissa', ['c_attn']],
] as const)('%s with init_lora_weights %s', (family, init, targetModules) => {
  it('starts unchanged, trains on the residual base, and saves a LoRA adapter (rank 2r) for the original base', async () => {
    const folder = family === 'llama' ? llama : gpt2;
    const original = await loadModel(folder);
    const trainer = await createTrainer({
      model: folder,
      lora: { r: 2, alpha: 4, targetModules: [...targetModules], initLoraWeights: init },
      threads: 1,
    });
    const before = await logits(original);
    // The residual base plus the principal adapter is the original model.
    expect(maxDifference(await logits(trainer.model, trainer.adapters), before)).toBeLessThan(1e-4);
    expect(maxDifference(await logits(trainer.model), before)).toBeGreaterThan(1e-3);
    await trainer.train(rows, { maxSteps: 2, batchSize: 4, maxLength: 12, learningRate: 2e-2 });
    const live = await logits(trainer.model, trainer.adapters);
    expect(maxDifference(live, before)).toBeGreaterThan(1e-4);
    const out = join(directory, `${family}-${init}`);
    await trainer.saveAdapter(join(out, 'adapter'));
    await trainer.saveMerged(join(out, 'merged'));
    await trainer.close();
    const config = JSON.parse(await readFile(join(out, 'adapter', 'adapter_config.json'), 'utf8'));
    // PEFT's save_pretrained(path_initial_model_for_weight_conversion=…): rank and alpha doubled, a plain LoRA.
    expect(config).toMatchObject({ r: 4, lora_alpha: 8, init_lora_weights: true });
    const tensors = await readSafetensors(join(out, 'adapter', 'adapter_model.safetensors'));
    for (const [name, tensor] of tensors) expect(tensor.shape[name.includes('lora_A') ? 0 : 1]).toBe(4);
    // Loaded onto the ORIGINAL base, the converted adapter gives the trained model.
    const adapter = await loadPeftAdapter(join(out, 'adapter'), { model: original });
    expect(maxDifference(await logits(original, adapter), live)).toBeLessThan(1e-4);
    const merged = await loadModel(join(out, 'merged'));
    expect(maxDifference(await logits(merged), live)).toBeLessThan(1e-4);
  });
});

describe('base-weight initialisations that are refused', () => {
  it('OLoRA on GPT-2 (Conv1D) is refused with LORA_CONFIG_UNSUPPORTED; an adapter_config.json saved unconverted too', async () => {
    await expect(
      createTrainer({
        model: gpt2,
        lora: { r: 2, alpha: 4, targetModules: ['c_attn'], initLoraWeights: 'olora' },
        threads: 1,
      }),
    ).rejects.toMatchObject({ code: 'LORA_CONFIG_UNSUPPORTED', details: { field: 'init_lora_weights' } });
  });
});
