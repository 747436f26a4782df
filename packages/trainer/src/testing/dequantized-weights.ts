import { QuantizationConfigSchema } from '@tunekit/core';
import type { LoraTargetModule } from '../lora/lora-weights.js';
import { dequantizeInt4Blocks, transposeMatrix } from '../quantization/quantize-int4-blocks.js';
import { type LinearWeightLayout, quantizeLinearWeights } from '../quantization/quantize-linear-weights.js';
import type { TensorMap } from '../safetensors/tensor-map.js';

/**
 * The float weights a quantized graph stands for: every linear weight in `modules` replaced by its
 * int4-block dequantized values (in the model's own layout), the other tensors shared. Tests compare
 * quantized graphs with float graphs built on these.
 */
export function dequantizedWeights(
  weights: TensorMap,
  modules: readonly LoraTargetModule[],
  layout: LinearWeightLayout,
  blockSize: number,
): TensorMap {
  const { linears } = quantizeLinearWeights(
    weights,
    modules,
    layout,
    QuantizationConfigSchema.parse({ bits: 4, blockSize }),
  );
  const result: TensorMap = new Map(weights);
  for (const [modulePath, linear] of linears) {
    const values = dequantizeInt4Blocks(linear.weight);
    const data =
      layout === 'in-out' ? transposeMatrix(values, linear.outFeatures, linear.inFeatures) : values;
    result.set(`${modulePath}.weight`, {
      shape: [...(weights.get(`${modulePath}.weight`)?.shape ?? [])],
      data,
    });
  }
  return result;
}
