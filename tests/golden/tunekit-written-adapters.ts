// Writes what Tunekit saves for the published-layout fixtures, for tests/golden/real_peft_crosscheck.py
// to load with the real transformers and PEFT (on a machine that has them):
//
//   npx tsx tests/golden/tunekit-written-adapters.ts
//
// → tests/golden/fixtures/hf-crosscheck/<case>/: adapter/ (PEFT format), merged/ (saveMerged, the
// checkpoint's layout and dtypes), logits.json (Tunekit's live logits of base + adapter, and of the
// merged model, for the input ids in it). Cases: LoRA on each causal fixture, PiSSA and OLoRA on
// SmolLM2's layout (adapters saved converted for the original base), rsLoRA with rank/alpha patterns on
// Llama, and a SEQ_CLS LoRA on each BERT-family classifier checkpoint.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createTrainer,
  type LoraAdapters,
  loadModel,
  loadPeftAdapter,
  type Tokenizer,
} from '@tunekit/trainer';
import type { Tensor } from 'onnxruntime-node';

const layouts = fileURLToPath(
  new URL('../../packages/trainer/src/models/fixtures/layouts/', import.meta.url),
);
const out = fileURLToPath(new URL('./fixtures/hf-crosscheck/', import.meta.url));
const ids = [
  [5, 17, 33, 2, 48, 9, 21, 40],
  [11, 3, 7, 29, 44, 1, 60, 12],
];
/** Two rows of 7 ids with 6 and 4 real tokens, padded with the model's pad id (RoBERTa: 1). */
const encoderIds = (pad: number, bos: number) => [
  [bos, 12, 30, 7, 22, 2, pad],
  [bos, 5, 9, 2, pad, pad, pad],
];
const ENCODER_LENGTHS = [6, 4];

const characters = (vocabSize: number, eos: number): Tokenizer => ({
  name: 'characters',
  vocabSize,
  specialTokens: { eos, bos: 1, pad: 0 },
  encode: (text) =>
    [...text].map((character) => 3 + ((character.codePointAt(0) as number) % (vocabSize - 4))),
  decode: (values) => values.join(' '),
  tokenToId: () => undefined,
  save: async () => {},
});

async function logits(folder: string, lora: LoraAdapters | undefined, rows: number[][], encoder: boolean) {
  const ort = await import('onnxruntime-node');
  const model = await loadModel(folder);
  const graph = model.architecture.buildInferenceGraph({
    config: model.config,
    weights: model.weights,
    lora,
    kvCache: false,
  });
  const session = await ort.InferenceSession.create(graph.model);
  const shape = [rows.length, rows[0]?.length ?? 0];
  const int64 = (values: number[]) => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), shape);
  const mask = rows.map((row, rowIndex) =>
    row.map((_, index) => (encoder && index >= (ENCODER_LENGTHS[rowIndex] as number) ? 0 : 1)),
  );
  const feeds: Record<string, Tensor> = { input_ids: int64(rows.flat()), attention_mask: int64(mask.flat()) };
  if (!encoder) feeds.position_ids = int64(rows.flatMap((row) => row.map((_, index) => index)));
  const output = await session.run(feeds);
  await session.release();
  return {
    values: Array.from((output.logits as Tensor).data as Float32Array),
    shape: [...(output.logits as Tensor).dims],
    mask,
  };
}

interface Case {
  name: string;
  fixture: string;
  encoder?: boolean;
  lora: Record<string, unknown>;
}
const cases: Case[] = [
  ...['gpt2', 'distilgpt2', 'gpt2-untied'].map((fixture) => ({
    name: `${fixture}-lora`,
    fixture,
    lora: { targetModules: ['c_attn', 'c_proj'] },
  })),
  ...['smollm2-135m', 'qwen2.5-0.5b', 'tinyllama-1.1b'].map((fixture) => ({
    name: `${fixture}-lora`,
    fixture,
    lora: { targetModules: ['q_proj', 'v_proj', 'o_proj'] },
  })),
  {
    name: 'smollm2-135m-pissa',
    fixture: 'smollm2-135m',
    lora: { targetModules: ['q_proj', 'v_proj'], initLoraWeights: 'pissa' },
  },
  {
    name: 'smollm2-135m-olora',
    fixture: 'smollm2-135m',
    lora: { targetModules: ['q_proj', 'v_proj'], initLoraWeights: 'olora' },
  },
  {
    name: 'tinyllama-1.1b-rslora-patterns',
    fixture: 'tinyllama-1.1b',
    lora: {
      targetModules: ['q_proj', 'v_proj'],
      rsLora: true,
      rankPattern: { 'layers.1.self_attn.q_proj': 1 },
      alphaPattern: { v_proj: 8 },
    },
  },
  ...['bert-base-uncased', 'distilbert-base-uncased', 'roberta-base'].map((fixture) => ({
    name: `${fixture}-seq-cls`,
    fixture: `${fixture}/classifier`,
    encoder: true,
    lora: { targetModules: fixture === 'distilbert-base-uncased' ? ['q_lin', 'v_lin'] : ['query', 'value'] },
  })),
];

await rm(out, { recursive: true, force: true });
for (const spec of cases) {
  const base = join(layouts, spec.fixture);
  const directory = join(out, spec.name);
  await mkdir(directory, { recursive: true });
  const trainer = await createTrainer({
    model: base,
    tokenizer: characters(spec.encoder ? 40 : 64, spec.encoder ? 2 : 63),
    lora: { r: 2, alpha: 4, ...spec.lora },
    threads: 1,
  });
  const rows = Array.from({ length: 8 }, (_, index) =>
    spec.encoder
      ? { text: `so good ${index}`, label: index % 2 }
      : { text: `a stitch in time saves nine ${index}` },
  );
  await trainer.train(rows, { maxSteps: 3, batchSize: 4, maxLength: 10, learningRate: 5e-2 });
  await trainer.saveAdapter(join(directory, 'adapter'));
  await trainer.saveMerged(join(directory, 'merged'));
  await trainer.close();
  const model = await loadModel(base);
  const adapter = await loadPeftAdapter(join(directory, 'adapter'), { model });
  const pad = (model.config as { pad_token_id?: number }).pad_token_id ?? 0;
  const rowsIds = spec.encoder ? encoderIds(pad, pad === 1 ? 0 : 3) : ids;
  const live = await logits(base, adapter, rowsIds, spec.encoder === true);
  const merged = await logits(join(directory, 'merged'), undefined, rowsIds, spec.encoder === true);
  const untrained = await logits(base, undefined, rowsIds, spec.encoder === true);
  await writeFile(
    join(directory, 'logits.json'),
    `${JSON.stringify({
      base: join('packages/trainer/src/models/fixtures/layouts', spec.fixture),
      task: spec.encoder ? 'SEQ_CLS' : 'CAUSAL_LM',
      input_ids: rowsIds,
      attention_mask: live.mask,
      shape: live.shape,
      adapter_logits: live.values,
      merged_logits: merged.values,
      base_logits: untrained.values,
    })}\n`,
  );
  console.log(spec.name, 'written');
}
