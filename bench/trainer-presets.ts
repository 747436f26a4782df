/**
 * Presets shaped like real checkpoints (random weights, exact public configs): LoRA r 16 on all seven
 * projections, sequence 512, micro-batches of 1 × 512 accumulated to 8,192 tokens per optimizer step.
 * For each preset, in the same run: Tunekit (peak RSS, time to first step = load of the safetensors
 * folder + graph build + session + first micro-batch, tokens/s, share of this machine's float32
 * MatMul peak) and the PyTorch reference (`bench/torch_llama_lora_reference.py`, plain torch
 * following Hugging Face's modeling code). Every measurement runs in its own process, so each peak
 * RSS is its own.
 *
 *   BENCH_LARGE=1 npx tsx bench/trainer-presets.ts            # smollm2-135m and qwen2.5-0.5b
 *   BENCH_PRESETS=smollm2-135m BENCH_LARGE=1 …                # one preset
 *   BENCH_MICRO_BATCHES=4 (default 2: the first, then 1 timed)  BENCH_TORCH=0 (skip PyTorch)
 *   BENCH_CHECKPOINTING=1 (gradient checkpointing on) or `both` (Tunekit measured without, then with)
 *   BENCH_LAZY=0 (read every weight into JavaScript at load, as before lazy weights)
 *   BENCH_MEMORY_PATTERN=1 (onnxruntime's memory pattern on, as before it was turned off)
 *   BENCH_PREPACK=1 (onnxruntime's pre-packing on; training sessions run without it)
 *   BENCH_HEAD_CHUNK=128 (tokens per chunk of the fused LM head; default `defaultChunkTokens`)
 *   BENCH_EXTERNAL_THRESHOLD=<bytes> (initializer bytes above which weights leave the model bytes)
 *   BENCH_PRECISION=float16 | bfloat16 (CUDA only) | both (float32, then float16; default float32)
 *
 * Without BENCH_LARGE=1 it prints nothing (these presets take minutes each on 2 cores).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decoderTrainingFlopsPerToken } from './lib/decoder-flops.js';
import { measureMatmulPeak } from './lib/matmul-peak.js';

const PRESETS = {
  // HuggingFaceTB/SmolLM2-135M
  'smollm2-135m': {
    architecture: 'llama',
    vocab_size: 49152,
    hidden_size: 576,
    intermediate_size: 1536,
    num_hidden_layers: 30,
    num_attention_heads: 9,
    num_key_value_heads: 3,
    max_position_embeddings: 8192,
    rms_norm_eps: 1e-5,
    rope_theta: 100000,
    tie_word_embeddings: true,
  },
  // A small Llama-shaped model for the scaling curves (`bench/trainer-scaling.ts`), vocabulary and
  // sequence set by BENCH_VOCAB and BENCH_SEQUENCE.
  'scaling-small': {
    architecture: 'llama',
    vocab_size: 32000,
    hidden_size: 256,
    intermediate_size: 768,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 4096,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: true,
  },
  // Qwen/Qwen2.5-0.5B
  'qwen2.5-0.5b': {
    architecture: 'qwen2',
    vocab_size: 151936,
    hidden_size: 896,
    intermediate_size: 4864,
    num_hidden_layers: 24,
    num_attention_heads: 14,
    num_key_value_heads: 2,
    max_position_embeddings: 32768,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000,
    tie_word_embeddings: true,
  },
} as const;
type PresetName = keyof typeof PRESETS;
/** The preset's config with BENCH_VOCAB applied. */
function presetConfig(name: PresetName) {
  const vocabulary = Number(process.env.BENCH_VOCAB ?? PRESETS[name].vocab_size);
  return { ...PRESETS[name], vocab_size: vocabulary };
}
const SEQUENCE = Number(process.env.BENCH_SEQUENCE ?? 512);
const RANK = 16;
const STEP_TOKENS = 8192;
const microBatches = Number(process.env.BENCH_MICRO_BATCHES ?? 2);
const threads = Number(process.env.BENCH_THREADS ?? cpus().length);
const here = dirname(fileURLToPath(import.meta.url));

function flopsPerToken(name: PresetName): number {
  const c = presetConfig(name);
  const headSize = c.hidden_size / c.num_attention_heads;
  const kv = c.num_key_value_heads * headSize;
  return decoderTrainingFlopsPerToken(
    {
      layers: c.num_hidden_layers,
      hidden: c.hidden_size,
      attentionWidth: c.hidden_size,
      linears: [
        [c.hidden_size, c.hidden_size],
        [c.hidden_size, kv],
        [c.hidden_size, kv],
        [c.hidden_size, c.hidden_size],
        [c.hidden_size, c.intermediate_size],
        [c.hidden_size, c.intermediate_size],
        [c.intermediate_size, c.hidden_size],
      ],
      vocabulary: c.vocab_size,
      adapted: [0, 1, 2, 3, 4, 5, 6],
      rank: RANK,
    },
    SEQUENCE,
  );
}

/** Child: writes the preset's random model folder (not measured). */
async function setup(name: PresetName, directory: string): Promise<void> {
  const { createModel } = await import('@tunekit/trainer');
  const { architecture, ...config } = presetConfig(name);
  await createModel({ architecture, directory, seed: 0, ...config });
}

/** Child: loads the folder, builds the graph and session, trains `microBatches` micro-batches. */
async function measure(directory: string): Promise<void> {
  const trainer = await import('@tunekit/trainer');
  const rss = () => Math.round(process.memoryUsage().rss / 2 ** 20);
  const peakRss = () => Math.round(process.resourceUsage().maxRSS / 1024);
  const marks: Record<string, number> = {};
  // CPU seconds of this process per phase: on a loaded machine wall time stretches, CPU time much less.
  const cpu = () => {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1e6;
  };
  let cpuMark = cpu();
  const cpuPhase = (name: string) => {
    const now = cpu();
    marks[`${name}_cpu_s`] = round(now - cpuMark);
    cpuMark = now;
  };
  const started = performance.now();
  const ort = await trainer.loadOnnxRuntime();
  // BENCH_LAZY=0 reads every weight into JavaScript first (the loader's behaviour before lazy weights).
  let model: Awaited<ReturnType<typeof trainer.loadModel>> | undefined = await trainer.loadModel(directory, {
    lazy: process.env.BENCH_LAZY !== '0',
  });
  const loaded = performance.now();
  cpuPhase('load');
  marks.rss_loaded_mb = rss();
  const lora = trainer.resolveLoraConfig({
    r: RANK,
    alpha: 2 * RANK,
    targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
  });
  let graph: ReturnType<typeof model.architecture.buildTrainingGraph> | undefined =
    model.architecture.buildTrainingGraph({
      config: model.config,
      weights: model.weights,
      lora: { config: lora, seed: 0 },
      trainable: 'lora',
      dropout: false,
      gradientCheckpointing: process.env.BENCH_CHECKPOINTING === '1',
      precision: (process.env.BENCH_PRECISION ?? 'float32') as 'float32' | 'float16' | 'bfloat16',
      // BENCH_EXTERNAL_THRESHOLD: initializer bytes above which weights leave the model bytes.
      externalDataThreshold: Number(
        process.env.BENCH_EXTERNAL_THRESHOLD ?? trainer.TRAINING_EXTERNAL_DATA_THRESHOLD,
      ),
      // BENCH_HEAD_CHUNK: tokens per chunk of the fused LM head (default `defaultChunkTokens`).
      ...(process.env.BENCH_HEAD_CHUNK ? { headChunkTokens: Number(process.env.BENCH_HEAD_CHUNK) } : {}),
    });
  const built = performance.now();
  cpuPhase('graph_build');
  marks.rss_built_mb = rss();
  const { session } = await trainer.createGraphSession(graph, {
    threads,
    device: (process.env.BENCH_DEVICE ?? 'cpu') as 'cpu',
    // The training session settings of createTrainer (no memory pattern, no pre-packing);
    // BENCH_PREPACK=1 / BENCH_MEMORY_PATTERN=1 turn onnxruntime's pre-packing / memory pattern on.
    memoryPattern: process.env.BENCH_MEMORY_PATTERN === '1',
    extra: {
      ...trainer.TRAINING_SESSION_OPTIONS.extra,
      ...(process.env.BENCH_PREPACK === '1' ? { 'session.disable_prepacking': '0' } : {}),
    },
  });
  const opened = performance.now();
  cpuPhase('session_create');
  marks.rss_session_mb = rss();
  marks.peak_session_mb = peakRss();
  // The session holds the frozen weights: drop the JavaScript copies (the model and serialized bytes).
  const parameters = graph.parameters.map((parameter) => parameter.initial.slice());
  // What crosses between host and device per micro-batch on CUDA: the trainable tensors fed, their
  // gradients fetched, the int64 batch (ids, mask, labels) and the loss; frozen weights stay put.
  const trainableBytes = parameters.reduce((sum, parameter) => sum + parameter.byteLength, 0);
  marks.host_device_mb_per_micro_batch = round((2 * trainableBytes + 3 * SEQUENCE * 8 + 4) / 2 ** 20);
  marks.host_device_mb_per_step = round((marks.host_device_mb_per_micro_batch * STEP_TOKENS) / SEQUENCE);
  const trainingGraph = { ...graph, model: new Uint8Array(0), externalData: undefined };
  const vocabulary = (model.config as { vocab_size: number }).vocab_size;
  model = undefined;
  graph = undefined;
  const random = new (await import('@tunekit/core/statistics')).SeededRandom(1);
  const sequences = Array.from({ length: microBatches }, () => {
    const ids = Array.from({ length: SEQUENCE }, () => random.nextInt(vocabulary));
    return { inputIds: ids, labels: [...ids] };
  });
  const run = (count: number, offset: number) =>
    trainer.runTraining({
      ort,
      graph: trainingGraph,
      session,
      parameters,
      train: sequences.slice(offset, offset + count),
      validation: [],
      padId: 0,
      options: trainer.TrainingOptionsSchema.parse({
        maxSteps: 1,
        batchSize: 1,
        gradientAccumulationSteps: count,
        learningRate: 1e-4,
        schedule: { kind: 'constant' },
        shuffle: false,
      }),
    });
  const first = await run(1, 0);
  const firstDone = performance.now();
  cpuPhase('first_micro_batch');
  marks.rss_first_step_mb = rss();
  marks.peak_first_step_mb = peakRss();
  const timedStarted = performance.now();
  if (microBatches > 1) await run(microBatches - 1, 1);
  const timed = (performance.now() - timedStarted) / 1000;
  // CPU seconds of one later micro-batch, to compare with the first one's.
  if (microBatches > 1) marks.later_micro_batch_cpu_s = round((cpu() - cpuMark) / (microBatches - 1));
  await session.release();
  const tokensPerSecond = microBatches > 1 ? ((microBatches - 1) * SEQUENCE) / timed : Number.NaN;
  console.log(
    JSON.stringify({
      impl: 'tunekit-onnxruntime',
      prepacking: process.env.BENCH_PREPACK === '1',
      head_chunk_tokens: process.env.BENCH_HEAD_CHUNK ?? 'default',
      lazy_weights: process.env.BENCH_LAZY !== '0',
      memory_pattern: process.env.BENCH_MEMORY_PATTERN === '1',
      weights_referenced_in_place: trainingGraph.externalFolder !== undefined,
      gradient_checkpointing: process.env.BENCH_CHECKPOINTING === '1',
      precision: process.env.BENCH_PRECISION ?? 'float32',
      load_s: round((loaded - started) / 1000),
      graph_build_s: round((built - loaded) / 1000),
      session_create_s: round((opened - built) / 1000),
      first_step_s: round((firstDone - started) / 1000),
      tokens_per_s: round(tokensPerSecond),
      first_loss: round(first.lossHistory.at(-1) ?? Number.NaN),
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
      ...marks,
    }),
  );
}

function torchReference(name: PresetName): Record<string, unknown> | undefined {
  const python = process.env.BENCH_PYTHON ?? '/usr/bin/python3';
  if (process.env.BENCH_TORCH === '0' || !existsSync(python)) return undefined;
  try {
    execFileSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  const output = execFileSync(
    python,
    [
      join(here, 'torch_llama_lora_reference.py'),
      '--preset',
      name,
      '--sequence',
      String(SEQUENCE),
      '--micro-batches',
      String(microBatches),
      '--threads',
      String(threads),
      '--device',
      process.env.BENCH_DEVICE ?? 'cpu',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
}

function child(
  mode: string,
  name: PresetName,
  directory: string,
  env: Record<string, string> = {},
): Record<string, unknown> {
  const output = execFileSync(
    process.execPath,
    // From the device bundle (`.js`, no tsx there) the script runs as is.
    [
      ...(import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : []),
      fileURLToPath(import.meta.url),
      mode,
      name,
      directory,
    ],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 24,
      env: { ...process.env, ...env },
    },
  );
  const line = output
    .trim()
    .split('\n')
    .filter((candidate) => candidate.startsWith('{'))
    .at(-1);
  return line ? (JSON.parse(line) as Record<string, unknown>) : {};
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

const [mode, requested, folder] = process.argv.slice(2);
if (mode === 'setup') {
  await setup(requested as PresetName, folder as string);
} else if (mode === 'measure') {
  await measure(folder as string);
} else if (process.env.BENCH_LARGE === '1') {
  const names = (process.env.BENCH_PRESETS?.split(',') as PresetName[] | undefined) ?? [
    'smollm2-135m',
    'qwen2.5-0.5b',
  ];
  const peak = Number(process.env.BENCH_MATMUL_PEAK ?? 0) * 1e9 || (await measureMatmulPeak(threads));
  console.log(
    JSON.stringify({ figure: 'matmul-peak', impl: 'onnxruntime', threads, gflop_per_s: round(peak / 1e9) }),
  );
  for (const name of names) {
    const directory = mkdtempSync(join(tmpdir(), `tunekit-${name}-`));
    try {
      child('setup', name, directory);
      const modes =
        process.env.BENCH_CHECKPOINTING === 'both' ? ['0', '1'] : [process.env.BENCH_CHECKPOINTING ?? '0'];
      const precisions =
        process.env.BENCH_PRECISION === 'both'
          ? ['float32', 'float16']
          : [process.env.BENCH_PRECISION ?? 'float32'];
      const [ours, ...others] = precisions.flatMap((precision) =>
        modes.map((checkpointing) =>
          child('measure', name, directory, {
            BENCH_CHECKPOINTING: checkpointing,
            BENCH_PRECISION: precision,
          }),
        ),
      ) as [Record<string, unknown>, ...Array<Record<string, unknown>>];
      for (const other of others) {
        console.log(JSON.stringify({ figure: 'trainer-presets-variant', preset: name, threads, ...other }));
      }
      const reference = torchReference(name);
      const flops = flopsPerToken(name);
      const achieved = (ours.tokens_per_s as number) * flops;
      console.log(
        JSON.stringify({
          figure: 'trainer-presets',
          preset: name,
          vocab_size: presetConfig(name).vocab_size,
          threads,
          sequence: SEQUENCE,
          micro_batch: 1,
          accumulation: STEP_TOKENS / SEQUENCE,
          micro_batches_run: microBatches,
          flop_per_token: flops,
          ...ours,
          achieved_gflop_per_s: round(achieved / 1e9),
          share_of_matmul_peak: round(achieved / peak),
          torch: reference,
          ratio_vs_torch:
            reference && typeof reference.tokens_per_s === 'number'
              ? round((ours.tokens_per_s as number) / reference.tokens_per_s)
              : undefined,
        }),
      );
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  }
}
