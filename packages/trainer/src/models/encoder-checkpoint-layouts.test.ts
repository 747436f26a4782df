import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPeftAdapter } from '../adapters/peft-adapter.js';
import { readSafetensors, SafetensorsReader } from '../safetensors/safetensors-file.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { createTrainer } from '../train/create-trainer.js';
import { type LoadedModel, loadModel } from './load-model.js';
import type { LoraAdapters } from './model-architecture.js';

// Tiny checkpoints in the layouts of bert-base-uncased, distilbert-base-uncased and roberta-base
// (pretraining checkpoints: no classifier, pretraining heads present), a fine-tuned classifier of each
// and a PEFT SEQ_CLS adapter, with PyTorch outputs: tests/golden/encoder_checkpoint_layouts.py.
const root = fileURLToPath(new URL('./fixtures/layouts/', import.meta.url));

/** Debian's python3 with torch, when installed (CI has none: the PyTorch checks then do not run). */
function pythonWithTorch(): string | undefined {
  if (!existsSync('/usr/bin/python3')) return undefined;
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' });
    return '/usr/bin/python3';
  } catch {
    return undefined;
  }
}
const python = pythonWithTorch();
const layoutLogits = fileURLToPath(new URL('../../../../tests/golden/layout_logits.py', import.meta.url));

/** PyTorch's classification logits (tests/golden/layout_logits.py) for a folder and an optional adapter. */
function torchLogits(folder: string, adapter?: string): Float32Array {
  const output = execFileSync(python as string, [layoutLogits, folder, ...(adapter ? [adapter] : [])]);
  return Float32Array.from((JSON.parse(output.toString()) as { logits: number[] }).logits);
}

interface EncoderFixture {
  input_ids: number[][];
  attention_mask: number[][];
  keys: string[];
  classifier_keys: string[];
  target_modules: string[];
  heads: string[];
}
let fixtures: Record<string, EncoderFixture>;
let directory: string;
beforeAll(async () => {
  fixtures = (
    JSON.parse(await readFile(join(root, 'encoders.json'), 'utf8')) as { fixtures: typeof fixtures }
  ).fixtures;
  directory = await mkdtemp(join(tmpdir(), 'tunekit-encoder-layouts-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** The inference graph's outputs (logits, last_hidden_state, BERT's pooler_output) for the fixture's inputs. */
async function run(
  model: Pick<LoadedModel<unknown>, 'architecture' | 'config' | 'weights'>,
  fixture: EncoderFixture,
  lora?: LoraAdapters,
): Promise<Record<string, Float32Array>> {
  const ort = await import('onnxruntime-node');
  const graph = model.architecture.buildInferenceGraph({
    config: model.config,
    weights: model.weights,
    lora,
    kvCache: false,
    encoderOutputs: true,
  });
  const session = await ort.InferenceSession.create(graph.model);
  const shape = [fixture.input_ids.length, fixture.input_ids[0]?.length ?? 0];
  const int64 = (rows: number[][]) =>
    new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), shape);
  const output = await session.run({
    input_ids: int64(fixture.input_ids),
    attention_mask: int64(fixture.attention_mask),
  });
  await session.release();
  return Object.fromEntries(
    Object.entries(output).map(([name, tensor]) => [name, (tensor as Tensor).data as Float32Array]),
  );
}

function maxDifference(actual: Float32Array | undefined, expected: Float32Array | undefined): number {
  expect(actual?.length).toBe(expected?.length);
  let worst = 0;
  for (let index = 0; index < (actual?.length ?? 0); index += 1) {
    worst = Math.max(worst, Math.abs((actual?.[index] as number) - (expected?.[index] as number)));
  }
  return worst;
}

async function fileKeys(path: string): Promise<string[]> {
  const reader = await SafetensorsReader.open(path);
  try {
    return reader.names;
  } finally {
    await reader.close();
  }
}

/** Words to ids above the special ones, below the fixtures' vocabulary of 40. */
const wordTokenizer = (cls: number, sep: number, pad: number): Tokenizer => ({
  name: 'words',
  vocabSize: 40,
  specialTokens: { bos: cls, eos: sep, pad },
  encode: (text, options) => {
    const ids = text
      .split(' ')
      .map((word) => 3 + ([...word].reduce((sum, c) => sum + c.charCodeAt(0), 0) % 37));
    return options?.addSpecialTokens === false ? ids : [cls, ...ids, sep];
  },
  decode: (ids) => ids.join(' '),
  tokenToId: () => undefined,
  save: async () => {},
});
const rows = Array.from({ length: 8 }, (_, index) => ({
  text: index % 2 ? `a fine day number ${index}` : `rain again and again ${index}`,
  label: index % 2 ? 'POSITIVE' : 'NEGATIVE',
}));

const NAMES = ['bert-base-uncased', 'distilbert-base-uncased', 'roberta-base'];

describe.each(NAMES)('encoder checkpoint layout %s', (name) => {
  it('loads the pretraining checkpoint as published: hidden states (and BERT pooler output) within 1e-5 of PyTorch', async () => {
    const fixture = fixtures[name] as EncoderFixture;
    const folder = join(root, name);
    const expected = await readSafetensors(join(folder, 'expected.safetensors'));
    const warnings: string[] = [];
    const model = await loadModel(folder, { onWarning: (message) => warnings.push(message) });
    // As transformers reports loading a pretraining checkpoint into *ForSequenceClassification: the
    // pretraining heads are unused, the classification head is new.
    expect(model.report?.unexpectedKeys).toEqual(fixture.heads);
    expect(model.report?.missingKeys.length).toBeGreaterThan(0);
    expect(model.report?.missingKeys.every((key) => /classifier/.test(key))).toBe(true);
    expect(model.layout?.tensors.map((tensor) => tensor.name)).toEqual(fixture.keys);
    const outputs = await run(model, fixture);
    expect(
      maxDifference(outputs.last_hidden_state, expected.get('base.last_hidden_state')?.data),
    ).toBeLessThan(1e-5);
    if (name === 'bert-base-uncased') {
      expect(maxDifference(outputs.pooler_output, expected.get('base.pooler_output')?.data)).toBeLessThan(
        1e-5,
      );
    } else expect(outputs.pooler_output).toBeUndefined();
  });

  it('applies a PEFT SEQ_CLS adapter (LoRA + trained head in modules_to_save): hidden states and logits within 1e-5', async () => {
    const fixture = fixtures[name] as EncoderFixture;
    const folder = join(root, name);
    const expected = await readSafetensors(join(folder, 'expected.safetensors'));
    const model = await loadModel(folder);
    const adapter = await loadPeftAdapter(join(folder, 'adapter'), { model });
    expect(adapter.report).toEqual({ missingKeys: [], unexpectedKeys: [] });
    const outputs = await run(model, fixture, adapter);
    expect(
      maxDifference(outputs.last_hidden_state, expected.get('adapter.last_hidden_state')?.data),
    ).toBeLessThan(1e-5);
    expect(maxDifference(outputs.logits, expected.get('adapter.logits')?.data)).toBeLessThan(1e-5);
  });

  it('a fine-tuned classifier checkpoint: logits within 1e-5; LoRA train → save adapter → merge → save (layout read) → reload', async () => {
    const fixture = fixtures[name] as EncoderFixture;
    const folder = join(root, name, 'classifier');
    const expected = await readSafetensors(join(root, name, 'expected.safetensors'));
    const model = await loadModel(folder);
    expect(model.report).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(
      maxDifference((await run(model, fixture)).logits, expected.get('classifier.logits')?.data),
    ).toBeLessThan(1e-5);
    const roberta = name === 'roberta-base';
    const trainer = await createTrainer({
      model: folder,
      tokenizer: roberta ? wordTokenizer(0, 2, 1) : wordTokenizer(1, 2, 0),
      lora: { r: 2, alpha: 4, targetModules: fixture.target_modules },
      threads: 1,
    });
    await trainer.train(rows, { maxSteps: 2, batchSize: 4, maxLength: 10, learningRate: 5e-2 });
    const out = join(directory, name);
    await trainer.saveAdapter(join(out, 'adapter'));
    await trainer.saveMerged(join(out, 'merged'));
    await trainer.close();
    const adapter = await loadPeftAdapter(join(out, 'adapter'), { model });
    const live = (await run(model, fixture, adapter)).logits;
    expect(maxDifference(live, (await run(model, fixture)).logits)).toBeGreaterThan(1e-4);
    const merged = await loadModel(join(out, 'merged'));
    expect(maxDifference((await run(merged, fixture)).logits, live)).toBeLessThan(1e-5);
    if (python) {
      // PyTorch on the files Tunekit wrote: the classifier + the trained adapter, and the merged save.
      expect(maxDifference(torchLogits(folder, join(out, 'adapter')), live)).toBeLessThan(1e-5);
      expect(maxDifference(torchLogits(join(out, 'merged')), live)).toBeLessThan(1e-5);
    }
    expect(await fileKeys(join(out, 'merged', 'model.safetensors'))).toEqual(fixture.classifier_keys);
  });

  it('LoRA on the pretraining checkpoint saves back its layout (gamma/beta names, pretraining heads) plus the new head', async () => {
    const fixture = fixtures[name] as EncoderFixture;
    const folder = join(root, name);
    const roberta = name === 'roberta-base';
    const trainer = await createTrainer({
      model: folder,
      tokenizer: roberta ? wordTokenizer(0, 2, 1) : wordTokenizer(1, 2, 0),
      lora: { r: 2, alpha: 4, targetModules: fixture.target_modules },
      threads: 1,
    });
    // A pretraining config has no label names: LABEL_0, LABEL_1 (class ids here).
    const numbered = rows.map((row) => ({ text: row.text, label: row.label === 'POSITIVE' ? 1 : 0 }));
    await trainer.train(numbered, { maxSteps: 1, batchSize: 4, maxLength: 10, learningRate: 5e-2 });
    const out = join(directory, `${name}-pretraining`);
    await trainer.saveMerged(out);
    await trainer.saveAdapter(`${out}-adapter`);
    const live = (await run(trainer.model, fixture, trainer.adapters)).logits;
    await trainer.close();
    // The adapter carries every head module the checkpoint lacked (DistilBERT: pre_classifier too), so
    // a base whose new head is initialised otherwise (another seed; PEFT) gives the same logits.
    const config = JSON.parse(await readFile(join(`${out}-adapter`, 'adapter_config.json'), 'utf8'));
    expect(config.modules_to_save).toEqual(
      name === 'distilbert-base-uncased' ? ['classifier', 'pre_classifier'] : ['classifier'],
    );
    const otherSeed = await loadModel(folder, { seed: 99 });
    const adapter = await loadPeftAdapter(`${out}-adapter`, { model: otherSeed });
    expect(maxDifference((await run(otherSeed, fixture, adapter)).logits, live)).toBeLessThan(1e-5);
    const keys = await fileKeys(join(out, 'model.safetensors'));
    expect(keys.slice(0, fixture.keys.length)).toEqual(fixture.keys);
    expect(keys.slice(fixture.keys.length).every((key) => /classifier/.test(key))).toBe(true);
    const reloaded = await loadModel(out);
    expect(reloaded.report).toEqual({ missingKeys: [], unexpectedKeys: fixture.heads });
    if (python) {
      // PyTorch on the pretraining checkpoint + the adapter (LoRA, new head in modules_to_save), and
      // on the merged save in the checkpoint's layout (gamma/beta, heads, position_ids kept).
      expect(maxDifference(torchLogits(folder, `${out}-adapter`), live)).toBeLessThan(1e-5);
      expect(maxDifference(torchLogits(out), live)).toBeLessThan(1e-5);
    }
  });
});
