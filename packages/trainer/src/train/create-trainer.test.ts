import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ArtifactInfo, type ArtifactStore, TunekitError } from '@tunekit/core';
import { describe, expect, it } from 'vitest';
import { cpuBackend } from '../backends/onnxruntime-backend.js';
import type { BackendSessionOptions, TrainerBackend } from '../backends/trainer-backend.js';
import { bigramArchitecture } from '../testing/bigram-architecture.js';
import { createTinyGpt2 } from '../testing/create-tiny-gpt2.js';
import { createTrainer } from './create-trainer.js';
import type { TrainerModel } from './trainer.js';

const text = 'the cat sat on the mat. the cat ate the rat. ';
const rows = Array.from({ length: 40 }, (_, index) => ({ text: text.repeat(1 + (index % 3)) }));
const validation = [{ text: 'the cat sat on the rat. the mat ate the cat.' }];

function bigramModel(): TrainerModel {
  const config = { model_type: 'bigram' as const, vocab_size: 257, n_positions: 64 };
  return {
    architecture: bigramArchitecture,
    config,
    weights: bigramArchitecture.createRandomWeights(config, 1),
  } as TrainerModel;
}

/** An in-memory ArtifactStore, enough for checkpoints. */
function memoryArtifacts(): ArtifactStore & { files: Map<string, Uint8Array> } {
  const files = new Map<string, Uint8Array>();
  const info = (uri: string): ArtifactInfo => ({
    uri,
    size: files.get(uri)?.byteLength ?? 0,
    sha256: '',
    modifiedAt: new Date().toISOString(),
  });
  return {
    files,
    async put(uri, data) {
      files.set(
        uri,
        typeof data === 'string' ? new TextEncoder().encode(data) : new Uint8Array(data as Uint8Array),
      );
      return info(uri);
    },
    async get(uri) {
      const data = files.get(uri);
      if (!data) throw new Error(`missing ${uri}`);
      return data;
    },
    stream: () => {
      throw new Error('not used');
    },
    exists: async (uri) => files.has(uri),
    stat: async (uri) => (files.has(uri) ? info(uri) : undefined),
    list: async (prefix) => [...files.keys()].filter((uri) => uri.startsWith(prefix)).map(info),
    delete: async (uri) => files.delete(uri),
    async deletePrefix(prefix) {
      let count = 0;
      for (const uri of [...files.keys()]) if (uri.startsWith(prefix) && files.delete(uri)) count += 1;
      return count;
    },
  };
}

describe('createTrainer', () => {
  it('trains a model in memory from text rows: perplexity falls, generation follows the data', async () => {
    const events: Array<{ name: string; payload: unknown }> = [];
    const artifacts = memoryArtifacts();
    const trainer = await createTrainer({
      model: bigramModel(),
      device: 'auto',
      threads: 1,
      artifacts,
      events: { emit: (name, payload) => events.push({ name, payload }) },
    });
    const before = await trainer.evaluate(validation, { maxLength: 32 });
    const result = await trainer.train(rows, {
      maxSteps: 40,
      batchSize: 4,
      maxLength: 32,
      learningRate: 0.3,
      validation,
      evalEvery: 20,
      checkpoint: { every: 20, prefix: 'artifact://runs/test/checkpoints' },
    });
    const after = await trainer.evaluate(validation, { maxLength: 32 });
    expect(after.perplexity).toBeLessThan(before.perplexity * 0.5);
    expect(result.evaluations.at(-1)?.loss).toBeCloseTo(after.loss, 4);
    expect(result.lastCheckpoint).toBe('artifact://runs/test/checkpoints/step-000040');
    expect([...artifacts.files.keys()].some((uri) => uri.endsWith('step-000040/trainer_state.json'))).toBe(
      true,
    );
    const generated = await trainer.generate('the c', { temperature: 0, maxTokens: 6 });
    // The most frequent successors in the data: c→a, a→t, t→h ("the"), h→e, e→' ', ' '→t.
    expect(generated.text).toBe('athe t');
    if (trainer.device === 'cpu') {
      expect(events.some((event) => event.name === 'warning:raised')).toBe(true);
    }
    await trainer.close();
  });

  it('opens training sessions of any size without memory pattern and pre-packing, the generation session with the defaults', async () => {
    const seen: Array<BackendSessionOptions | undefined> = [];
    const cpu = cpuBackend();
    const recording: TrainerBackend = {
      ...cpu,
      createSession: (model, options) => {
        seen.push(options);
        return cpu.createSession(model, options);
      },
    };
    const trainer = await createTrainer({ model: bigramModel(), threads: 1, backends: { cpu: recording } });
    await trainer.train(rows.slice(0, 4), { maxSteps: 1, batchSize: 2 });
    await trainer.generate('the', { temperature: 0, maxTokens: 1 });
    await trainer.close();
    // The bigram graphs are tiny (embedded): before, the training session got onnxruntime's memory
    // pattern and pre-packed copies (scaling-small at vocabulary 32,000: peak RSS 855 MB, not 492).
    expect(
      seen.map((options) => [options?.memoryPattern, options?.extra?.['session.disable_prepacking']]),
    ).toEqual([
      [false, '1'],
      [undefined, undefined],
    ]);
  });

  it('takes an async iterable of prompt/completion rows (loss on completions only)', async () => {
    const trainer = await createTrainer({ model: bigramModel(), threads: 1 });
    async function* pairs() {
      for (let index = 0; index < 12; index++) yield { prompt: 'Q: colour? A:', completion: ' blue' };
    }
    const result = await trainer.train(pairs(), { maxSteps: 15, batchSize: 4, learningRate: 0.5 });
    expect(result.lossHistory.at(-1)).toBeLessThan((result.lossHistory[0] as number) / 2);
    expect((await trainer.generate('A:', { temperature: 0, maxTokens: 5 })).text).toBe(' blue');
    await trainer.close();
  });

  it('with dropout, trains through dropout nodes and evaluates without them (deterministic loss)', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'tunekit-dropout-'));
    try {
      const model = await createTinyGpt2(join(folder, 'model'), {
        resid_pdrop: 0.2,
        embd_pdrop: 0.2,
        attn_pdrop: 0.2,
      });
      const trainer = await createTrainer({ model, lora: { r: 4, dropout: 0.1 }, dropout: true, threads: 1 });
      const result = await trainer.train(rows.slice(0, 8), { maxSteps: 3, batchSize: 4, maxLength: 32 });
      expect(result.lossHistory.every(Number.isFinite)).toBe(true);
      const first = await trainer.evaluate(validation, { maxLength: 32 });
      const second = await trainer.evaluate(validation, { maxLength: 32 });
      expect(second.loss).toBe(first.loss);
      await trainer.close();
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('gradientCheckpointing trains the same loss curve (with dropout: the recomputed layers see the same masks)', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'tunekit-checkpointing-'));
    try {
      const model = await createTinyGpt2(join(folder, 'model'), { resid_pdrop: 0.2, attn_pdrop: 0.2 });
      const curve = async (gradientCheckpointing: boolean) => {
        const trainer = await createTrainer({
          model,
          lora: { r: 4, dropout: 0.1 },
          dropout: true,
          gradientCheckpointing,
          threads: 1,
        });
        const result = await trainer.train(rows.slice(0, 8), { maxSteps: 4, batchSize: 4, maxLength: 32 });
        await trainer.close();
        return result.lossHistory;
      };
      const plain = await curve(false);
      const checkpointed = await curve(true);
      expect(plain).toHaveLength(4);
      checkpointed.forEach((loss, index) => {
        expect(loss).toBeCloseTo(plain[index] as number, 5);
      });
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('with dropout, a cancelled and resumed run draws the same masks: its loss curve equals the uninterrupted one', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'tunekit-dropout-resume-'));
    try {
      const model = await createTinyGpt2(join(folder, 'model'), {
        resid_pdrop: 0.2,
        embd_pdrop: 0.2,
        attn_pdrop: 0.2,
      });
      const options = {
        maxSteps: 6,
        batchSize: 4,
        gradientAccumulationSteps: 2,
        maxLength: 32,
        learningRate: 0.01,
        schedule: { kind: 'cosine' as const, warmupSteps: 2 },
      };
      const run = async (directory: string, extra: { resume?: boolean; stopAfter?: number } = {}) => {
        const trainer = await createTrainer({
          model,
          lora: { r: 4, dropout: 0.1 },
          dropout: true,
          threads: 1,
        });
        const controller = new AbortController();
        try {
          return await trainer.train(rows.slice(0, 16), {
            ...options,
            checkpoint: { every: 2, directory },
            resume: extra.resume ?? false,
            signal: controller.signal,
            onProgress: (_progress, metrics) => {
              if (metrics.step === extra.stopAfter) controller.abort();
            },
          });
        } finally {
          await trainer.close();
        }
      };
      const full = await run(join(folder, 'full'));
      const interrupted = join(folder, 'interrupted');
      const error = await run(interrupted, { stopAfter: 3 }).catch((caught: unknown) => caught);
      expect(TunekitError.isInstance(error) && error.code).toBe('TRAINING_CANCELLED');
      const resumed = await run(interrupted, { resume: true });
      expect(resumed.lossHistory).toEqual(full.lossHistory);

      // The masks matter: without dropout the same run gives another curve.
      const plain = await createTrainer({ model, lora: { r: 4, dropout: 0.1 }, threads: 1 });
      const withoutDropout = await plain.train(rows.slice(0, 16), options);
      await plain.close();
      expect(withoutDropout.lossHistory).not.toEqual(full.lossHistory);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('trains with DPO on preference pairs: the first loss is ln 2 (policy = reference), then rewards separate', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'tunekit-dpo-'));
    try {
      const model = await createTinyGpt2(join(folder, 'model'));
      const trainer = await createTrainer({ model, lora: { r: 4, alpha: 8 }, threads: 1 });
      const pairs = Array.from({ length: 16 }, (_, index) => ({
        prompt: `Q${index % 4}: is the sky blue? A:`,
        chosen: ' yes, it is blue.',
        rejected: ' no, it is green.',
      }));
      const result = await trainer.train(pairs.slice(0, 12), {
        dpo: { beta: 0.5 },
        maxSteps: 20,
        batchSize: 4,
        learningRate: 2e-2,
        validation: pairs.slice(12),
        evalEvery: 20,
      });
      expect(result.lossHistory[0]).toBeCloseTo(Math.LN2, 5);
      expect(result.lossHistory.at(-1)).toBeLessThan(0.3);
      const evaluation = result.evaluations.at(-1);
      expect(evaluation?.rewardAccuracy).toBe(1);
      expect(evaluation?.rewardMargin).toBeGreaterThan(1);
      expect(Number.isNaN(evaluation?.perplexity)).toBe(true);
      await expect(trainer.train([{ prompt: 'p', completion: 'c' }], { dpo: { beta: 0.1 } })).rejects.toThrow(
        /not a preference row/,
      );
      await trainer.close();
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('rejects invalid options with readable field messages', async () => {
    const trainer = await createTrainer({ model: bigramModel(), threads: 1 });
    await expect(trainer.train(rows, { batchSize: 0 } as never)).rejects.toThrow(/batchSize/);
    await expect(trainer.train(rows, { maxLength: 100 })).rejects.toThrow(/exceeds the model's 64 positions/);
    await trainer.close();
  });
});
