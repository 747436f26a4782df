// One forward+backward step of the cpu-small preset (vocab 8192, 256 positions, d 256, 4 layers,
// 4 heads, seq 128, batch 8, LoRA r 8 on c_attn) on onnxruntime-node, next to PyTorch's reference
// (/work/shared/bench/torch_lora_reference.py or $TORCH_REFERENCE) run in the same process tree.
// Prints one JSON line per figure. Usage: npx tsx bench/trainer-step.ts [--steps 10] [--rounds 3] [--no-torch]
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createGpt2Weights, Gpt2ConfigSchema, gpt2Architecture, resolveLoraConfig } from '@tunekit/trainer';

const argument = (name: string, fallback: string) => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
};
const steps = Number(argument('steps', '10'));
const warmup = 3;
const batchSize = 8;
const sequenceLength = 128;
const ort = await import('onnxruntime-node');
const config = Gpt2ConfigSchema.parse({
  vocab_size: 8192,
  n_positions: 256,
  n_embd: 256,
  n_layer: 4,
  n_head: 4,
});
const weights = createGpt2Weights(config, 0);
const buildStart = performance.now();
const graph = gpt2Architecture.buildTrainingGraph({
  config,
  weights,
  lora: { config: resolveLoraConfig({ r: 8, alpha: 16, targetModules: ['c_attn'] }) },
  trainable: 'lora',
  dropout: false,
  batchSize,
  sequenceLength,
});
const buildMs = performance.now() - buildStart;
console.log(
  JSON.stringify({
    figure: 'graph_build_ms',
    value: Math.round(buildMs),
    model_bytes: graph.model.byteLength,
  }),
);

let seed = 1;
const nextToken = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return BigInt(seed % config.vocab_size);
};
const batches = Array.from({ length: 4 }, () => {
  const ids = BigInt64Array.from({ length: batchSize * sequenceLength }, nextToken);
  return {
    input_ids: new ort.Tensor('int64', ids, [batchSize, sequenceLength]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(ids.length).fill(1n), [
      batchSize,
      sequenceLength,
    ]),
    labels: new ort.Tensor('int64', ids, [batchSize, sequenceLength]),
  };
});
const parameterFeeds = Object.fromEntries(
  graph.parameters.map((parameter) => [
    parameter.inputName,
    new ort.Tensor('float32', parameter.initial, parameter.shape),
  ]),
);
const fetches = ['loss', ...graph.parameters.map((parameter) => parameter.gradientName)];

// The machine is shared (2 cores, other jobs): alternate ours and torch for several rounds and keep
// each side's fastest round, which is the least disturbed estimate of each.
const rounds = Number(argument('rounds', '3'));
const variants: Array<{ optimization: 'all' | 'extended' | 'basic'; threads: number }> = [
  { optimization: 'basic', threads: 1 },
  { optimization: 'all', threads: 1 },
  { optimization: 'basic', threads: 2 },
];
const sessions = await Promise.all(
  variants.map((variant) =>
    ort.InferenceSession.create(graph.model, {
      graphOptimizationLevel: variant.optimization,
      intraOpNumThreads: variant.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
    }),
  ),
);
const bestMs = variants.map(() => Number.POSITIVE_INFINITY);
let loss = 0;
const reference = process.env.TORCH_REFERENCE ?? '/work/shared/bench/torch_lora_reference.py';
const withTorch =
  !process.argv.includes('--no-torch') && existsSync(reference) && existsSync('/usr/bin/python3');
let torchBest: { step_ms: number; tokens_per_s: number } | undefined;
for (let round = 0; round < rounds; round += 1) {
  for (const [index, session] of sessions.entries()) {
    for (let step = 0; step < warmup; step += 1) {
      await session.run({ ...(batches[step % batches.length] as object), ...parameterFeeds }, fetches);
    }
    const start = performance.now();
    for (let step = 0; step < steps; step += 1) {
      const result = await session.run(
        { ...(batches[step % batches.length] as object), ...parameterFeeds },
        fetches,
      );
      loss = Number(result.loss?.data[0]);
    }
    bestMs[index] = Math.min(bestMs[index] as number, (performance.now() - start) / steps);
  }
  if (withTorch) {
    const line = execFileSync('/usr/bin/python3', [reference, '--preset', 'cpu-small'], {
      encoding: 'utf8',
    }).trim();
    const torch = JSON.parse(line.split('\n').pop() as string) as { step_ms: number; tokens_per_s: number };
    if (!torchBest || torch.step_ms < torchBest.step_ms) torchBest = torch;
  }
}
for (const [index, variant] of variants.entries()) {
  const stepMs = bestMs[index] as number;
  console.log(
    JSON.stringify({
      figure: 'tunekit_step',
      impl: `onnxruntime-node-${ort.env.versions.common}`,
      preset: 'cpu-small',
      optimization: variant.optimization,
      threads: variant.threads,
      rounds,
      step_ms: Number(stepMs.toFixed(2)),
      tokens_per_s: Number(((batchSize * sequenceLength) / (stepMs / 1000)).toFixed(1)),
      loss: Number(loss.toFixed(4)),
      note: 'forward+backward, LoRA gradients fetched; no optimizer update; fastest of the rounds',
    }),
  );
}
if (torchBest) {
  console.log(
    JSON.stringify({
      figure: 'torch_step',
      ...torchBest,
      rounds,
      note: 'forward+backward+AdamW, its best of 1 and 2 threads, fastest round',
    }),
  );
  const ours = (batchSize * sequenceLength) / (Math.min(...bestMs) / 1000);
  console.log(
    JSON.stringify({
      figure: 'tunekit_vs_torch',
      tunekit_tokens_per_s: Number(ours.toFixed(1)),
      torch_tokens_per_s: torchBest.tokens_per_s,
      ratio: Number((ours / torchBest.tokens_per_s).toFixed(3)),
    }),
  );
}
