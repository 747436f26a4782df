/**
 * The RLHF loop of a feedback-driven team, on the CPU with no Python: a small GPT-2 learns to
 * answer requests both rudely and politely (supervised fine-tuning), users correct its rude answers
 * (`kit.feedback`), the corrections are exported as preference pairs, and DPO on a LoRA adapter
 * teaches the model to prefer the polite answer.
 *
 *   npx tsx examples/feedback-to-dpo.ts            # full run: about a minute on 2 cores
 *   npx tsx examples/feedback-to-dpo.ts --short    # shortened run (also TUNEKIT_EXAMPLE_SHORT=1)
 *
 * Prints the share of sampled answers that are polite before and after DPO, DPO's loss (it starts
 * at ln 2, where the policy equals the reference) and the reward accuracy on held-out pairs.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createTunekit } from '@tunekit/core';
import { createByteLevelTokenizer, createModel, createTrainer, type Trainer } from '@tunekit/trainer';

/** Sizes and step counts of one run. */
export interface FeedbackToDpoSettings {
  short: boolean;
  out?: string;
  threads?: number;
  log?: (line: string) => void;
}

/** What the example measured. */
export interface FeedbackToDpoReport {
  /** Share of sampled answers in the polite style, after supervised fine-tuning and after DPO. */
  politeBefore: number;
  politeAfter: number;
  preferencePairs: number;
  dpo: { firstLoss: number; lastLoss: number; steps: number; rewardAccuracy: number; rewardMargin: number };
}

const ITEMS = ['salt', 'map', 'key', 'pen', 'cup', 'book', 'lamp', 'coat', 'ball', 'rope', 'milk', 'bread'];
const prompt = (item: string) => `Ask for the ${item}:`;
const rude = (item: string) => ` give me the ${item} now.`;
const polite = (item: string) => ` could you please pass the ${item}?`;

/** Share of `samples` answers per prompt, sampled at temperature 0.7, that open in the polite style. */
async function politeShare(trainer: Trainer, items: string[], samples: number): Promise<number> {
  let polite = 0;
  let total = 0;
  for (const item of items) {
    for (let sample = 0; sample < samples; sample++) {
      const { text } = await trainer.generate(prompt(item), {
        maxTokens: 16,
        temperature: 0.7,
        seed: 1000 * sample + item.length,
      });
      if (text.startsWith(' cou')) polite += 1;
      total += 1;
    }
  }
  return polite / total;
}

/** Runs the example and returns its measurements. */
export async function runFeedbackToDpo(settings: FeedbackToDpoSettings): Promise<FeedbackToDpoReport> {
  const log = settings.log ?? ((line: string) => console.log(line));
  const out = settings.out ?? (await mkdtemp(join(tmpdir(), 'tunekit-feedback-dpo-')));
  const threads = settings.threads ?? 2;
  // The last three requests are held out of DPO: they measure generalisation.
  const heldOut = ITEMS.slice(9);

  // 1. A small GPT-2 learns both styles: half of the answers are rude, half polite.
  const tokenizer = createByteLevelTokenizer();
  const base = join(out, 'base');
  await createModel({
    architecture: 'gpt2',
    directory: base,
    vocab_size: tokenizer.vocabSize,
    n_positions: 64,
    n_embd: 64,
    n_layer: 2,
    n_head: 2,
    bos_token_id: 256,
    eos_token_id: 256,
    seed: 11,
  });
  await tokenizer.save(base);
  const styles = ITEMS.flatMap((item) => [
    { prompt: prompt(item), completion: rude(item) },
    { prompt: prompt(item), completion: polite(item) },
  ]);
  const sft = await createTrainer({ model: base, trainable: 'full', threads });
  const sftResult = await sft.train(styles, {
    maxSteps: settings.short ? 200 : 600,
    batchSize: 8,
    learningRate: 3e-3,
    maxLength: 48,
  });
  log(
    `supervised fine-tuning: loss ${sftResult.lossHistory[0]?.toFixed(3)} → ${sftResult.lossHistory.at(-1)?.toFixed(3)}`,
  );
  const tuned = join(out, 'sft');
  await sft.saveMerged(tuned);
  await sft.close();

  // 2. Users correct rude answers; the kit exports the corrections as preference pairs.
  const kit = await createTunekit({ dataDirectory: join(out, 'kit') });
  try {
    for (const item of ITEMS) {
      await kit.feedback.record({
        modelId: 'assistant-v1',
        userId: 'reviewer',
        input: prompt(item),
        output: rude(item),
        correctedText: polite(item),
        type: 'correction',
        tags: heldOut.includes(item) ? ['held-out'] : [],
      });
    }
    const exported = await kit.feedback.export({ as: 'preference', filter: { modelId: 'assistant-v1' } });
    const pairs: Array<{ prompt: string; chosen: string; rejected: string }> = [];
    for await (const row of kit.datasets.rows(exported.version.id)) {
      pairs.push(row as { prompt: string; chosen: string; rejected: string });
    }
    log(`feedback: ${exported.rows} corrections exported as preference pairs (${exported.version.id})`);

    // 3. DPO on a LoRA adapter; the reference is the fine-tuned model (the adapter disabled).
    const dpo = await createTrainer({ model: tuned, lora: { r: 8, alpha: 16 }, threads });
    const politeBefore = await politeShare(dpo, heldOut, settings.short ? 12 : 40);
    const isHeldOut = (pair: { prompt: string }) => heldOut.some((item) => pair.prompt === prompt(item));
    const result = await dpo.train(
      pairs.filter((pair) => !isHeldOut(pair)),
      {
        dpo: { beta: 0.1 },
        maxSteps: 30,
        batchSize: 3,
        learningRate: 2e-3,
        maxLength: 48,
        validation: pairs.filter(isHeldOut),
        evalEvery: 10,
      },
    );
    const evaluation = result.evaluations.at(-1);
    const politeAfter = await politeShare(dpo, heldOut, settings.short ? 12 : 40);
    await dpo.close();
    const report: FeedbackToDpoReport = {
      politeBefore,
      politeAfter,
      preferencePairs: pairs.length,
      dpo: {
        firstLoss: result.lossHistory[0] ?? Number.NaN,
        lastLoss: result.lossHistory.at(-1) ?? Number.NaN,
        steps: result.steps,
        rewardAccuracy: evaluation?.rewardAccuracy ?? Number.NaN,
        rewardMargin: evaluation?.rewardMargin ?? Number.NaN,
      },
    };
    log(
      `DPO: loss ${report.dpo.firstLoss.toFixed(4)} (ln 2 = ${Math.LN2.toFixed(4)}) → ${report.dpo.lastLoss.toFixed(4)} in ${report.dpo.steps} steps; held-out reward accuracy ${report.dpo.rewardAccuracy.toFixed(2)}, margin ${report.dpo.rewardMargin.toFixed(2)}`,
    );
    log(
      `polite answers to held-out requests: ${(100 * politeBefore).toFixed(0)}% before DPO → ${(100 * politeAfter).toFixed(0)}% after`,
    );
    return report;
  } finally {
    await kit.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const short = process.argv.includes('--short') || process.env.TUNEKIT_EXAMPLE_SHORT === '1';
  await runFeedbackToDpo({ short });
}
