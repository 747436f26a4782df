import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { onnx as OnnxNamespace } from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { resolveLoraConfig } from '../lora/lora-config.js';
import { getArchitecture } from '../models/architecture-registry.js';
import type { BuildTrainingGraphOptions } from '../models/model-architecture.js';

/**
 * Every operator and input/output type of every training and inference graph the trainer builds
 * (all families; LoRA, full fine-tuning, DPO; 4-bit quantized bases with both backwards; float16
 * and bfloat16 mixed precision), checked
 * against onnxruntime's CUDA execution provider kernel table (`fixtures/onnxruntime-cuda-kernels.json`,
 * an excerpt of docs/OperatorKernels.md with its source commit): a node without a CUDA kernel for
 * its types would run on the CPU with copies across the bus every step.
 */
const onnx = (createRequire(import.meta.url)('onnx-proto') as { onnx: typeof OnnxNamespace }).onnx;
const table = JSON.parse(
  readFileSync(new URL('./fixtures/onnxruntime-cuda-kernels.json', import.meta.url), 'utf8'),
) as { source: string; kernels: Record<string, { inputs: string[][]; outputs: string[][] }> };

const TYPE_NAMES: Record<number, string> = {
  1: 'float',
  2: 'uint8',
  3: 'int8',
  6: 'int32',
  7: 'int64',
  9: 'bool',
  10: 'float16',
  11: 'double',
  16: 'bfloat16',
};

/** A node whose operator or types have no CUDA kernel. */
interface Uncovered {
  graph: string;
  node: string;
  operator: string;
  types: string;
}

function elementType(type: OnnxNamespace.ITypeProto | null | undefined): string {
  return TYPE_NAMES[type?.tensorType?.elemType ?? -1] ?? `type${type?.tensorType?.elemType}`;
}

/** Output types of a node from its inputs' types (the element-type rules of the operators used). */
function outputTypes(
  node: OnnxNamespace.INodeProto,
  inputs: string[],
  body?: OnnxNamespace.IGraphProto,
): string[] {
  const count = node.output?.length ?? 0;
  const attribute = (name: string) => node.attribute?.find((candidate) => candidate.name === name);
  const same = (type: string | undefined) => Array.from({ length: count }, () => type ?? 'unknown');
  switch (node.opType) {
    case 'Shape':
      return same('int64');
    case 'Equal':
    case 'Greater':
    case 'Less':
    case 'Not':
    case 'And':
      return same('bool');
    case 'Cast':
      return same(TYPE_NAMES[Number(attribute('to')?.i ?? 0)]);
    case 'ConstantOfShape':
      return same(TYPE_NAMES[attribute('value')?.t?.dataType ?? 1]);
    case 'Where':
      return same(inputs[1]);
    case 'DequantizeLinear':
      return same(inputs[1]);
    case 'LayerNormalization':
      return [inputs[0] ?? 'unknown', 'float', 'float'].slice(0, count);
    case 'Loop':
      // Outputs: the carried values and scan outputs, typed like the body's outputs after `cond`.
      return (body?.output ?? []).slice(1).map((output) => elementType(output.type));
    default:
      return same(inputs[0]);
  }
}

function checkGraph(
  graph: OnnxNamespace.IGraphProto,
  types: Map<string, string>,
  label: string,
  uncovered: Uncovered[],
  seen: Set<string>,
): void {
  for (const value of [...(graph.input ?? [])]) types.set(value.name as string, elementType(value.type));
  for (const initializer of graph.initializer ?? []) {
    types.set(initializer.name as string, TYPE_NAMES[initializer.dataType ?? -1] ?? 'unknown');
  }
  for (const node of graph.node ?? []) {
    const operator = `${node.domain || 'ai.onnx'}:${node.opType}`;
    const inputTypes = (node.input ?? []).map((name) => (name === '' ? '' : (types.get(name) ?? 'unknown')));
    const body = node.attribute?.find((attribute) => attribute.name === 'body')?.g ?? undefined;
    if (body) checkGraph(body, new Map(types), `${label}/${node.name}`, uncovered, seen);
    const produced = outputTypes(node, inputTypes, body);
    for (const [index, name] of (node.output ?? []).entries()) types.set(name, produced[index] ?? 'unknown');
    seen.add(`${operator}(${inputTypes.join(',')})`);
    const kernel = table.kernels[operator];
    const fits = (allowed: string[][], actual: string[]) =>
      actual.every(
        (type, index) => type === '' || (allowed[Math.min(index, allowed.length - 1)] ?? []).includes(type),
      );
    if (!kernel || !fits(kernel.inputs, inputTypes) || !fits(kernel.outputs, produced)) {
      uncovered.push({
        graph: label,
        node: node.name as string,
        operator,
        types: `${inputTypes.join(',')} -> ${produced.join(',')}`,
      });
    }
  }
}

const DECODERS = {
  gpt2: {
    config: { n_layer: 1, n_embd: 32, n_head: 2, vocab_size: 61, n_positions: 32 },
    targets: ['c_attn', 'c_proj', 'c_fc'],
  },
  llama: {
    config: {
      hidden_size: 64,
      intermediate_size: 48,
      num_hidden_layers: 1,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      vocab_size: 61,
      max_position_embeddings: 32,
    },
    targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
  },
  qwen2: {
    config: {
      hidden_size: 64,
      intermediate_size: 48,
      num_hidden_layers: 1,
      num_attention_heads: 4,
      num_key_value_heads: 1,
      vocab_size: 61,
      max_position_embeddings: 32,
      tie_word_embeddings: true,
    },
    targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
  },
};
const ENCODERS = {
  bert: {
    config: {
      vocab_size: 40,
      hidden_size: 16,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      intermediate_size: 24,
      max_position_embeddings: 32,
      num_labels: 3,
    },
    targets: ['query', 'value'],
  },
  roberta: {
    config: {
      vocab_size: 40,
      hidden_size: 16,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      intermediate_size: 24,
      max_position_embeddings: 40,
      num_labels: 3,
    },
    targets: ['query', 'value'],
  },
  distilbert: {
    config: {
      vocab_size: 40,
      dim: 16,
      n_layers: 1,
      n_heads: 2,
      hidden_dim: 24,
      max_position_embeddings: 32,
      num_labels: 3,
    },
    targets: ['q_lin', 'v_lin'],
  },
};

function graphsOf(
  name: string,
  settings: { config: Record<string, unknown>; targets: string[] },
  decoder: boolean,
) {
  const architecture = getArchitecture(name);
  const config = architecture.configSchema.parse({ model_type: name, ...settings.config });
  const weights = architecture.createRandomWeights(config, 0);
  const lora = { config: resolveLoraConfig({ r: 4, alpha: 8, targetModules: settings.targets }), seed: 0 };
  const training = (label: string, options: Partial<BuildTrainingGraphOptions<never>>) => ({
    label: `${name}/${label}`,
    model: architecture.buildTrainingGraph({
      config,
      weights,
      trainable: 'lora',
      dropout: false,
      ...options,
    } as never).model,
  });
  const graphs = [
    training('lora', { lora }),
    training('lora+dropout', { lora, dropout: true }),
    training('full', { trainable: 'full' }),
    training('lora-float16', { lora, precision: 'float16' }),
    training('lora-bfloat16', { lora, precision: 'bfloat16' }),
  ];
  if (decoder) {
    graphs.push(training('full-float16', { trainable: 'full', precision: 'float16' }));
    graphs.push(training('dpo-lora-float16', { lora, preference: { beta: 0.1 }, precision: 'float16' }));
    graphs.push(training('lora+checkpointing', { lora, dropout: true, gradientCheckpointing: true }));
    graphs.push(training('dpo-lora', { lora, preference: { beta: 0.1 } }));
    graphs.push(training('dpo-full', { trainable: 'full', preference: { beta: 0.1 } }));
    for (const backward of ['dequantize', 'transposed-copy'] as const) {
      graphs.push(
        training(`qlora-${backward}`, { lora, quantization: { bits: 4, blockSize: 16, backward } }),
      );
    }
    for (const kvCache of [true, false]) {
      graphs.push({
        label: `${name}/inference-kv${kvCache}`,
        model: architecture.buildInferenceGraph({ config, weights, lora, kvCache } as never).model,
      });
    }
    graphs.push({
      label: `${name}/inference-quantized`,
      model: architecture.buildInferenceGraph({
        config,
        weights,
        lora,
        kvCache: true,
        quantization: { bits: 4, blockSize: 16 },
      } as never).model,
    });
  } else {
    graphs.push({
      label: `${name}/inference`,
      model: architecture.buildInferenceGraph({ config, weights, lora, kvCache: false } as never).model,
    });
  }
  return graphs;
}

describe('CUDA readiness: every node of every graph has an onnxruntime CUDA kernel for its types', () => {
  it(`all families, LoRA/full/DPO/quantized/float16/bfloat16, training and inference (table: ${table.source.split('/blob/')[1]})`, () => {
    const uncovered: Uncovered[] = [];
    const seen = new Set<string>();
    const all = [
      ...Object.entries(DECODERS).flatMap(([name, settings]) => graphsOf(name, settings, true)),
      ...Object.entries(ENCODERS).flatMap(([name, settings]) => graphsOf(name, settings, false)),
    ];
    for (const { label, model } of all) {
      checkGraph(
        onnx.ModelProto.decode(model).graph as OnnxNamespace.IGraphProto,
        new Map(),
        label,
        uncovered,
        seen,
      );
    }
    expect(all.length).toBe(3 * 15 + 3 * 6);
    // The check sees the operators it should (a walk that found nothing would pass vacuously).
    for (const operator of [
      'Loop',
      'MatMulNBits',
      'DequantizeLinear',
      'LayerNormalization',
      'ScatterND',
      'Erf',
    ]) {
      expect(
        [...seen].some((signature) => signature.includes(`:${operator}(`)),
        operator,
      ).toBe(true);
    }
    // Mixed precision: the half-precision products are in the walk.
    for (const signature of [
      'ai.onnx:Gemm(float16,float16)',
      'ai.onnx:MatMul(float16,float16)',
      'ai.onnx:Gemm(bfloat16,bfloat16)',
      'ai.onnx:MatMul(bfloat16,bfloat16)',
      'ai.onnx:Gather(float16,int64)',
    ]) {
      expect(seen.has(signature), signature).toBe(true);
    }
    expect(uncovered.some((node) => node.types.includes('unknown'))).toBe(false);
    expect(uncovered).toEqual([]);
  });

  it('the check fails on a node without a CUDA kernel (BitShift) or with an unsupported type (Pad on int64)', () => {
    const uncovered: Uncovered[] = [];
    const graph: OnnxNamespace.IGraphProto = {
      input: [
        { name: 'a', type: { tensorType: { elemType: 2 } } },
        { name: 'b', type: { tensorType: { elemType: 7 } } },
        { name: 'pads', type: { tensorType: { elemType: 7 } } },
      ],
      node: [
        { name: 'shift', opType: 'BitShift', input: ['a', 'a'], output: ['c'], domain: '' },
        { name: 'pad', opType: 'Pad', input: ['b', 'pads'], output: ['d'], domain: '' },
        {
          name: 'pad_float',
          opType: 'Cast',
          input: ['b'],
          output: ['e'],
          domain: '',
          attribute: [{ name: 'to', i: 1 }],
        },
      ],
    };
    checkGraph(graph, new Map(), 'synthetic', uncovered, new Set());
    expect(uncovered.map((node) => node.node)).toEqual(['shift', 'pad']);
  });
});
