import type { QuantizationConfig } from '@tunekit/core';
import { tunekitError } from '@tunekit/core';
import type { LoraTargetModule } from '../lora/lora-weights.js';
import type { TensorMap } from '../safetensors/tensor-map.js';
import {
  dequantizeInt4Blocks,
  type Int4BlockMatrix,
  quantizeInt4Blocks,
  transposeMatrix,
} from './quantize-int4-blocks.js';

/** How a model file stores a linear layer's weight. */
export type LinearWeightLayout =
  /** `[out, in]`: `torch.nn.Linear` (Llama, Qwen2, BERT). */
  | 'out-in'
  /** `[in, out]`: GPT-2's `Conv1D`. */
  | 'in-out';

/** One frozen linear layer with its weight quantized. */
export interface QuantizedLinearWeight {
  modulePath: string;
  inFeatures: number;
  outFeatures: number;
  /** `W` `[out, in]` quantized in blocks along `in` (what `MatMulNBits` computes `x·Wᵀ` with). */
  weight: Int4BlockMatrix;
  /**
   * For `backward: 'transposed-copy'`: `Wᵀ` `[in, out]` quantized in blocks along `out` from the
   * *dequantized* `W`, so it represents the forward matrix up to this second rounding.
   */
  transposed?: Int4BlockMatrix;
}

/** Result of {@link quantizeLinearWeights}. */
export interface QuantizedLinearWeights {
  /** The weights that stay float32 (embeddings, norms, biases, LM head …). */
  weights: TensorMap;
  /** The quantized linear layers by module path, in the model's order. */
  linears: Map<string, QuantizedLinearWeight>;
}

/**
 * Quantizes the `.weight` of every module in `modules` (a model's linear layers; the LM head and the
 * embeddings are not among them, so they stay float32 as in QLoRA) with {@link quantizeInt4Blocks}
 * and returns them apart from the remaining float weights (which are not copied). `in-out` weights
 * are transposed to `[out, in]` first. Throws `VALIDATION_FAILED` when `blockSize` does not divide a
 * layer's input size (or, for `transposed-copy`, its output size).
 */
export function quantizeLinearWeights(
  weights: TensorMap,
  modules: readonly LoraTargetModule[],
  layout: LinearWeightLayout,
  config: QuantizationConfig,
): QuantizedLinearWeights {
  const remaining: TensorMap = new Map(weights);
  const linears = new Map<string, QuantizedLinearWeight>();
  for (const module of modules) {
    const name = `${module.modulePath}.weight`;
    const tensor = weights.get(name);
    if (!tensor) continue;
    const { inFeatures, outFeatures } = module;
    const blocked = [inFeatures, ...(config.backward === 'transposed-copy' ? [outFeatures] : [])];
    if (blocked.some((size) => size % config.blockSize !== 0)) {
      throw tunekitError(
        'VALIDATION_FAILED',
        `quantization.blockSize ${config.blockSize} does not divide the sizes of ${module.modulePath} ([${outFeatures}, ${inFeatures}]); choose a smaller power of two`,
        { modulePath: module.modulePath, inFeatures, outFeatures, blockSize: config.blockSize },
      );
    }
    const outIn = layout === 'in-out' ? transposeMatrix(tensor.data, inFeatures, outFeatures) : tensor.data;
    const weight = quantizeInt4Blocks(outIn, outFeatures, inFeatures, config.blockSize);
    const transposed =
      config.backward === 'transposed-copy'
        ? quantizeInt4Blocks(
            transposeMatrix(dequantizeInt4Blocks(weight), outFeatures, inFeatures),
            inFeatures,
            outFeatures,
            config.blockSize,
          )
        : undefined;
    linears.set(module.modulePath, { ...module, weight, transposed });
    remaining.delete(name);
  }
  return { weights: remaining, linears };
}
