import { QuantizationConfigSchema, type QuantizationOptions } from '@tunekit/core';
import type { ResolvedLoraConfig } from '../lora/lora-config.js';
import type { LoraTargetModule } from '../lora/lora-weights.js';
import type { Graph } from '../onnx/graph.js';
import {
  declareQuantizedLinears,
  type QuantizedLinearValues,
} from '../quantization/declare-quantized-linears.js';
import { type LinearWeightLayout, quantizeLinearWeights } from '../quantization/quantize-linear-weights.js';
import type { TensorMap } from '../safetensors/tensor-map.js';
import { type DeclaredModelWeights, declareModelWeights } from './declare-model-weights.js';
import type { ResolvedLoraAdapters } from './resolve-lora-adapters.js';

/** Options of {@link declareCausalInferenceWeights}. */
export interface DeclareCausalInferenceWeightsOptions {
  /** Normalised base weights. */
  weights: TensorMap;
  /** The resolved adapters with their settings, kept as a live branch; undefined without LoRA. */
  adapters: { config: ResolvedLoraConfig; resolved: ResolvedLoraAdapters } | undefined;
  /** A 4-bit frozen base (see `BuildInferenceGraphOptions.quantization`); undefined: float32. */
  quantization: QuantizationOptions | undefined;
  /** The model's linear layers (what `quantization` quantizes) and how their weights are stored. */
  linearModules: readonly LoraTargetModule[];
  linearLayout: LinearWeightLayout;
}

/** Result of {@link declareCausalInferenceWeights}. */
export interface DeclaredCausalInferenceWeights extends DeclaredModelWeights {
  /** The quantized linear layers by module path (their float `.weight` is not declared); undefined: float32. */
  quantized: Map<string, QuantizedLinearValues> | undefined;
}

/**
 * Declares a causal model's inference weights as initializers: the base weights and the adapters
 * (frozen, as a separate branch) and, with `quantization`, the linear layers as int4 blocks
 * (`<module>.weight.int4` / `.weight.scales`, the same codes a training graph with the same settings
 * stores) for `MatMulNBits`. `backward` is irrelevant here and ignored: no transposed copies.
 */
export function declareCausalInferenceWeights(
  graph: Graph,
  options: DeclareCausalInferenceWeightsOptions,
): DeclaredCausalInferenceWeights {
  const quantization = options.quantization
    ? quantizeLinearWeights(
        options.weights,
        options.linearModules,
        options.linearLayout,
        QuantizationConfigSchema.parse({ ...options.quantization, backward: 'dequantize' }),
      )
    : undefined;
  const { values, lora } = declareModelWeights(graph, {
    weights: quantization?.weights ?? options.weights,
    adapters: options.adapters,
    trainable: { base: false, adapters: false },
    parameters: [],
  });
  const quantized = quantization ? declareQuantizedLinears(graph, quantization.linears) : undefined;
  return { values, lora, quantized };
}
