/**
 * Training-graph size: builds a decoder's training graph (random weights, exact public config with
 * `BENCH_LAYERS` layers) and prints, for each variant, the serialized graph's nodes by operator
 * type, its node outputs (the values onnxruntime's allocation planner walks), and with
 * `BENCH_SESSION=1` the CPU seconds of creating the onnxruntime session on it (2 threads) and the
 * node count of onnxruntime's optimized graph (what the planner sees). One JSON line per variant.
 *
 *   npx tsx bench/trainer-graph-nodes.ts                                   # smollm2-135m, 2 layers, LoRA
 *   BENCH_PRESET=qwen2.5-0.5b BENCH_LAYERS=24 BENCH_SESSION=1 npx tsx bench/trainer-graph-nodes.ts
 *   BENCH_VARIANTS=lora,full,dpo,checkpointing,float16,gpt2   (default: lora)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PRESETS = {
  'smollm2-135m': {
    architecture: 'llama',
    model_type: 'llama',
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
  'qwen2.5-0.5b': {
    architecture: 'qwen2',
    model_type: 'qwen2',
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
  // GPT-2 small's shape (the `gpt2` variant).
  gpt2: { architecture: 'gpt2', model_type: 'gpt2', vocab_size: 50257, n_embd: 768, n_head: 12, n_layer: 12 },
} as const;

const RANK = 16;

type OnnxNode = { opType?: string | null; output?: string[] | null; attribute?: OnnxAttribute[] | null };
type OnnxAttribute = { g?: { node?: OnnxNode[] | null } | null };

/** Nodes by operator type and the number of node outputs (sub-graphs included). */
function countNodes(modelBytes: Uint8Array): {
  nodes: number;
  outputs: number;
  byOp: Record<string, number>;
} {
  const require = createRequire(import.meta.url);
  const { onnx } = require('onnx-proto') as {
    onnx: { ModelProto: { decode(bytes: Uint8Array): { graph?: { node?: OnnxNode[] | null } | null } } };
  };
  const model = onnx.ModelProto.decode(modelBytes);
  const byOp: Record<string, number> = {};
  let nodes = 0;
  let outputs = 0;
  const visit = (list: readonly OnnxNode[]) => {
    for (const node of list) {
      nodes += 1;
      outputs += node.output?.filter((name) => name !== '').length ?? 0;
      const op = node.opType ?? '?';
      byOp[op] = (byOp[op] ?? 0) + 1;
      for (const attribute of node.attribute ?? []) if (attribute.g?.node) visit(attribute.g.node);
    }
  };
  visit(model.graph?.node ?? []);
  const sorted = Object.fromEntries(Object.entries(byOp).sort((a, b) => b[1] - a[1]));
  return { nodes, outputs, byOp: sorted };
}

async function measure(variant: string): Promise<void> {
  const trainer = await import('@tunekit/trainer');
  const presetName = (
    variant === 'gpt2' ? 'gpt2' : (process.env.BENCH_PRESET ?? 'smollm2-135m')
  ) as keyof typeof PRESETS;
  const { architecture: architectureName, ...preset } = PRESETS[presetName];
  const layers = Number(process.env.BENCH_LAYERS ?? 2);
  const config = {
    ...preset,
    ...(architectureName === 'gpt2' ? { n_layer: layers } : { num_hidden_layers: layers }),
  };
  const architecture = trainer.getArchitecture(architectureName);
  const parsed = architecture.configSchema.parse(config);
  const weights = architecture.createRandomWeights(parsed, 0);
  const cpu = () => {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1e6;
  };
  const lora = trainer.resolveLoraConfig({
    r: RANK,
    alpha: 2 * RANK,
    targetModules:
      architectureName === 'gpt2'
        ? ['c_attn', 'c_proj', 'c_fc']
        : ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
  });
  let started = cpu();
  const graph = architecture.buildTrainingGraph({
    config: parsed,
    weights,
    ...(variant === 'full'
      ? { trainable: 'full' as const }
      : { lora: { config: lora, seed: 0 }, trainable: 'lora' as const }),
    dropout: false,
    gradientCheckpointing: variant === 'checkpointing',
    precision: variant === 'float16' ? 'float16' : 'float32',
    preference: variant === 'dpo' ? { beta: 0.1 } : undefined,
    externalDataThreshold: trainer.TRAINING_EXTERNAL_DATA_THRESHOLD,
  });
  const buildCpu = cpu() - started;
  const counts = countNodes(graph.model);
  const result: Record<string, unknown> = {
    figure: 'training-graph-nodes',
    preset: presetName,
    layers,
    variant,
    graph_build_cpu_s: round(buildCpu),
    nodes: counts.nodes,
    node_outputs: counts.outputs,
    nodes_per_layer: round(counts.nodes / layers),
    by_op: counts.byOp,
  };
  if (process.env.BENCH_SESSION === '1') {
    const directory = mkdtempSync(join(tmpdir(), 'tunekit-graph-nodes-'));
    try {
      started = cpu();
      const { session } = await trainer.createGraphSession(graph, { threads: 2 });
      result.session_create_cpu_s = round(cpu() - started);
      await session.release();
      if (process.env.BENCH_OPTIMIZED === '1') {
        // onnxruntime's optimized graph (level `all`), written next to the saved model.
        const ort = await trainer.loadOnnxRuntime();
        const { saveSerializedModel } = await import('@tunekit/trainer/onnx');
        const path = await saveSerializedModel(graph, directory);
        const optimized = join(directory, 'optimized.onnx');
        const optimizedSession = await ort.InferenceSession.create(path, {
          graphOptimizationLevel: 'all',
          optimizedModelFilePath: optimized,
          intraOpNumThreads: 2,
          extra: {
            'session.disable_prepacking': '1',
            'session.optimized_model_external_initializers_file_name': 'optimized.data',
            'session.optimized_model_external_initializers_min_size_in_bytes': '1024',
          },
        });
        await optimizedSession.release();
        const after = countNodes(readFileSync(optimized));
        result.optimized_nodes = after.nodes;
        result.optimized_node_outputs = after.outputs;
        result.optimized_by_op = after.byOp;
      }
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  }
  console.log(JSON.stringify(result));
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

const [mode, variant] = process.argv.slice(2);
if (mode === 'measure') {
  await measure(variant as string);
} else {
  // Each variant in its own process, so one session's memory does not weigh on the next.
  for (const name of (process.env.BENCH_VARIANTS ?? 'lora').split(',')) {
    const output = execFileSync(
      process.execPath,
      [
        ...(import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : []),
        fileURLToPath(import.meta.url),
        'measure',
        name,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 },
    );
    process.stdout.write(output);
  }
}
