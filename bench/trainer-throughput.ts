/**
 * Trainer throughput: training tokens per second (forward + backward + AdamW step) of a
 * GPT-2-architecture model with LoRA, through Tunekit's training loop on onnxruntime, next to the
 * PyTorch reference (`../shared/bench/torch_lora_reference.py`) on the same machine when
 * `/usr/bin/python3` has torch. One JSON line per figure.
 *
 *   npx tsx bench/trainer-throughput.ts                 # cpu-small (+ torch reference)
 *   BENCH_GPT2S=1 npx tsx bench/trainer-throughput.ts   # also cpu-gpt2s (GPT-2 small, slow)
 *   BENCH_PRESETS=gpu-gpt2s BENCH_DEVICE=cuda …         # on a CUDA machine
 *   BENCH_PRECISION=float16 (or bfloat16, CUDA only)     # mixed precision (default float32)
 *
 * Presets mirror the reference script: random init, fixed seed, random token batches, LoRA on
 * `c_attn` with alpha = 2r, AdamW lr 1e-3. Like the reference, CPU runs try 1 thread and every core
 * and report the faster; ours and the reference alternate over `BENCH_ROUNDS` rounds (default 2).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SeededRandom } from '@tunekit/core/statistics';
import {
  createDeviceSession,
  type Device,
  Gpt2ConfigSchema,
  gpt2Architecture,
  loadOnnxRuntime,
  resolveLoraConfig,
  runTraining,
  type TokenSequence,
  TrainingOptionsSchema,
} from '@tunekit/trainer';

const PRESETS = {
  'cpu-small': { vocab: 8192, positions: 256, d: 256, layers: 4, heads: 4, seq: 128, batch: 8, r: 8 },
  'cpu-gpt2s': { vocab: 50257, positions: 1024, d: 768, layers: 12, heads: 12, seq: 128, batch: 4, r: 8 },
  'gpu-gpt2s': { vocab: 50257, positions: 1024, d: 768, layers: 12, heads: 12, seq: 512, batch: 16, r: 16 },
} as const;
type PresetName = keyof typeof PRESETS;

const here = dirname(fileURLToPath(import.meta.url));
const steps = Number(process.env.BENCH_STEPS ?? 20);
const warmup = Number(process.env.BENCH_WARMUP ?? 3);
const device = (process.env.BENCH_DEVICE ?? 'cpu') as Device;
const precision = (process.env.BENCH_PRECISION ?? 'float32') as 'float32' | 'float16' | 'bfloat16';

/** Tokens per second of `steps` optimizer steps after `warmup` steps, on `threads` threads. */
async function measure(name: PresetName, threads: number | undefined) {
  const preset = PRESETS[name];
  const config = Gpt2ConfigSchema.parse({
    vocab_size: preset.vocab,
    n_positions: preset.positions,
    n_embd: preset.d,
    n_layer: preset.layers,
    n_head: preset.heads,
  });
  const weights = gpt2Architecture.createRandomWeights(config, 0);
  const lora = resolveLoraConfig({ r: preset.r, alpha: 2 * preset.r, targetModules: ['c_attn'] });
  const buildStarted = performance.now();
  const graph = gpt2Architecture.buildTrainingGraph({
    config,
    weights,
    lora: { config: lora, seed: 0 },
    trainable: 'lora',
    dropout: false,
    precision,
  });
  const buildSeconds = (performance.now() - buildStarted) / 1000;
  const ort = await loadOnnxRuntime();
  const sessionStarted = performance.now();
  const { session, device: used } = await createDeviceSession(graph.model, { device, threads });
  const sessionSeconds = (performance.now() - sessionStarted) / 1000;
  const random = new SeededRandom(1);
  const batches = 4;
  const sequences: TokenSequence[] = Array.from({ length: batches * preset.batch }, () => {
    const ids = Array.from({ length: preset.seq }, () => random.nextInt(preset.vocab));
    return { inputIds: ids, labels: [...ids] };
  });
  const parameters = graph.parameters.map((parameter) => parameter.initial.slice());
  const run = (maxSteps: number) =>
    runTraining({
      ort,
      graph,
      session,
      parameters,
      train: sequences,
      validation: [],
      padId: 0,
      options: TrainingOptionsSchema.parse({
        maxSteps,
        batchSize: preset.batch,
        learningRate: 1e-3,
        maxGradientNorm: 0,
        schedule: { kind: 'constant' },
        shuffle: false,
      }),
    });
  await run(warmup);
  const started = performance.now();
  const result = await run(steps);
  const seconds = (performance.now() - started) / 1000;
  await session.release();
  return {
    device: used,
    threads: threads ?? cpus().length,
    tokensPerSecond: (steps * preset.batch * preset.seq) / seconds,
    stepMs: (1000 * seconds) / steps,
    finalLoss: result.lossHistory.at(-1) ?? Number.NaN,
    trainable: parameters.reduce((sum, parameter) => sum + parameter.length, 0),
    buildSeconds,
    sessionSeconds,
  };
}

/** The PyTorch reference on the same preset, when /usr/bin/python3 has torch. */
function torchReference(
  name: PresetName,
): { tokens_per_s: number; threads: number; impl: string } | undefined {
  const script =
    process.env.BENCH_TORCH_REFERENCE ?? join(here, '../../shared/bench/torch_lora_reference.py');
  const python = process.env.BENCH_PYTHON ?? '/usr/bin/python3';
  if (!existsSync(script) || !existsSync(python)) return undefined;
  try {
    execFileSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  const args = [script, '--preset', name, '--steps', String(steps), '--warmup', String(warmup)];
  if (device === 'cuda') args.push('--device', 'cuda');
  const output = execFileSync(python, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const line = output.trim().split('\n').at(-1) ?? '{}';
  return JSON.parse(line) as { tokens_per_s: number; threads: number; impl: string };
}

const presets: PresetName[] = (process.env.BENCH_PRESETS?.split(',') as PresetName[] | undefined) ?? [
  'cpu-small',
  ...(process.env.BENCH_GPT2S === '1' ? (['cpu-gpt2s'] as const) : []),
];
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
for (const name of presets) {
  const candidates =
    device === 'cuda'
      ? [undefined]
      : [...new Set([1, cpus().length])].map((threads) => threads as number | undefined);
  let best: Awaited<ReturnType<typeof measure>> | undefined;
  let reference: ReturnType<typeof torchReference>;
  // Ours and the reference alternate over rounds and the best of each is kept, so that a burst of
  // load from other processes on a shared machine does not land on one side only.
  for (let round = 0; round < rounds; round++) {
    for (const threads of candidates) {
      const measured = await measure(name, threads);
      if (!best || measured.tokensPerSecond > best.tokensPerSecond) best = measured;
    }
    const measuredReference = torchReference(name);
    if (measuredReference && (!reference || measuredReference.tokens_per_s > reference.tokens_per_s)) {
      reference = measuredReference;
    }
  }
  if (!best) continue;
  console.log(
    JSON.stringify({
      figure: 'trainer-throughput',
      preset: name,
      impl: 'tunekit-onnxruntime',
      device: best.device,
      precision,
      threads: best.threads,
      trainable: best.trainable,
      tokens_per_s: Math.round(best.tokensPerSecond * 10) / 10,
      step_ms: Math.round(best.stepMs * 100) / 100,
      final_loss: Math.round(best.finalLoss * 1e4) / 1e4,
      graph_build_s: Math.round(best.buildSeconds * 100) / 100,
      session_create_s: Math.round(best.sessionSeconds * 100) / 100,
      // This process's peak (every round and thread count): run one precision per process to compare.
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
      torch_impl: reference?.impl,
      torch_threads: reference?.threads,
      torch_tokens_per_s: reference?.tokens_per_s,
      ratio_vs_torch: reference
        ? Math.round((best.tokensPerSecond / reference.tokens_per_s) * 100) / 100
        : undefined,
    }),
  );
}
