/**
 * For `bench/device/run.sh`: creates a small random GPT-2 folder and trains a LoRA adapter on it
 * with Tunekit (on `BENCH_DEVICE`, default cpu), saving the adapter in PEFT's format, so that
 * `load_in_peft.py` can load it with the real `peft` library next to the base folder.
 *
 *   node .device/bench/train-adapter.js <directory>
 */
import { join } from 'node:path';
import { createModel, createTrainer, type Device } from '@tunekit/trainer';

const directory = process.argv[2] ?? '.device/adapter-check';
const base = join(directory, 'base');
await createModel({
  architecture: 'gpt2',
  directory: base,
  n_layer: 2,
  n_embd: 64,
  n_head: 2,
  vocab_size: 512,
  seed: 0,
});
const trainer = await createTrainer({
  model: base,
  lora: { r: 8, alpha: 16, targetModules: ['c_attn', 'c_proj'] },
  device: (process.env.BENCH_DEVICE ?? 'cpu') as Device,
});
const rows = Array.from({ length: 32 }, (_, index) => ({
  text: `row ${index}: the quick brown fox jumps over the lazy dog`,
}));
const result = await trainer.train(rows, { maxSteps: 5, batchSize: 4, maxLength: 32, learningRate: 1e-2 });
await trainer.saveAdapter(join(directory, 'adapter'));
console.log(
  JSON.stringify({
    figure: 'device-adapter',
    device: trainer.device,
    losses: result.lossHistory,
    adapter: join(directory, 'adapter'),
  }),
);
await trainer.close();
