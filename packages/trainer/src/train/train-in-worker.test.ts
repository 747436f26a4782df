import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TunekitError } from '@tunekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTinyGpt2 } from '../testing/create-tiny-gpt2.js';
import { trainInWorker } from './train-in-worker.js';

let directory: string;
let model: string;
const rows = Array.from({ length: 24 }, (_, index) => ({ text: `call me ishmael, said number ${index}. ` }));

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tunekit-worker-'));
  model = await createTinyGpt2(join(directory, 'model'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('trainInWorker', () => {
  it('trains LoRA in a worker thread, relays events and progress, and saves the PEFT adapter', async () => {
    const names: string[] = [];
    const progress: number[] = [];
    let ticks = 0;
    const timer = setInterval(() => {
      ticks += 1;
    }, 5);
    const result = await trainInWorker(
      {
        model,
        lora: { r: 4, alpha: 8 },
        threads: 1,
        rows,
        validation: rows.slice(0, 4),
        options: { maxSteps: 8, batchSize: 4, maxLength: 32, learningRate: 1e-2, evalEvery: 4 },
        saveTo: join(directory, 'adapter'),
      },
      { events: { emit: (name) => names.push(name) }, onProgress: (value) => progress.push(value) },
    );
    clearInterval(timer);
    expect(result.steps).toBe(8);
    expect(result.lossHistory.at(-1)).toBeLessThan(result.lossHistory[0] as number);
    expect(names).toContain('training:started');
    expect(names.filter((name) => name === 'training:step')).toHaveLength(8);
    expect(names.filter((name) => name === 'training:evaluated')).toHaveLength(2);
    expect(progress.at(-1)).toBe(1);
    // The main thread kept running timers while the worker trained.
    expect(ticks).toBeGreaterThan(3);
    const config = JSON.parse(await readFile(join(directory, 'adapter', 'adapter_config.json'), 'utf8'));
    expect(config).toMatchObject({ peft_type: 'LORA', r: 4, lora_alpha: 8, target_modules: ['c_attn'] });
  });

  it('cancels at the next step with a coded error and leaves a checkpoint', async () => {
    const controller = new AbortController();
    const checkpoints = join(directory, 'cancel-checkpoints');
    const error = await trainInWorker(
      {
        model,
        lora: { r: 4 },
        threads: 1,
        rows,
        options: { maxSteps: 500, batchSize: 2, maxLength: 32, checkpoint: { directory: checkpoints } },
      },
      {
        signal: controller.signal,
        onProgress: (_value, metrics) => {
          if (metrics.step === 3) controller.abort();
        },
      },
    ).catch((caught: unknown) => caught);
    expect(TunekitError.isInstance(error) && error.code).toBe('TRAINING_CANCELLED');
    const left = await readdir(checkpoints);
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(/^step-0000\d\d$/);
  });

  it('reports a failure inside the worker with its code', async () => {
    const error = await trainInWorker({ model: join(directory, 'missing'), rows, options: {} }).catch(
      (caught: unknown) => caught,
    );
    expect(TunekitError.isInstance(error) && error.code).toBe('MODEL_INVALID');
  });
});
