import { tunekitError } from '@tunekit/core';
import { isBaseWeightInitialization } from '../lora/initialize-from-base-weights.js';
import { parseLoraTensorName } from '../lora/peft-names.js';
import type { LoraAdapters } from '../models/model-architecture.js';
import type { FloatTensor, TensorMap } from '../safetensors/tensor-map.js';

/** Rows of `top` then rows of `bottom` (`torch.cat([top, bottom], dim=0)`). */
function stackRows(top: FloatTensor, bottom: FloatTensor): FloatTensor {
  const data = new Float32Array(top.data.length + bottom.data.length);
  data.set(top.data, 0);
  data.set(bottom.data, top.data.length);
  return { shape: [(top.shape[0] as number) + (bottom.shape[0] as number), top.shape[1] as number], data };
}

/** Columns of `left` then the negated columns of `right` (`torch.cat([left, -right], dim=1)`). */
function stackColumnsNegated(left: FloatTensor, right: FloatTensor): FloatTensor {
  const rows = left.shape[0] as number;
  const leftColumns = left.shape[1] as number;
  const rightColumns = right.shape[1] as number;
  const columns = leftColumns + rightColumns;
  const data = new Float32Array(rows * columns);
  for (let row = 0; row < rows; row += 1) {
    for (let column = 0; column < leftColumns; column += 1)
      data[row * columns + column] = left.data[row * leftColumns + column] as number;
    for (let column = 0; column < rightColumns; column += 1)
      data[row * columns + leftColumns + column] = -(right.data[row * rightColumns + column] as number);
  }
  return { shape: [rows, columns], data };
}

const double = (pattern: Readonly<Record<string, number>>) =>
  Object.fromEntries(Object.entries(pattern).map(([key, value]) => [key, value * 2]));

/**
 * A PiSSA/OLoRA adapter (trained from `initialWeights` on the residual base) as a plain LoRA adapter
 * for the original base, as PEFT's `save_pretrained(path_initial_model_for_weight_conversion=…)`
 * writes it: `ΔW = s·(B·A − B₀·A₀) = s·[B | −B₀]·[A; A₀]`, so `lora_A` is `[A; A₀]` and `lora_B`
 * `[B, −B₀]` at rank 2r, with `lora_alpha` doubled (×√2 with rsLoRA, which keeps α/√r),
 * `rank_pattern`/`alpha_pattern` doubled and `init_lora_weights: true`. Tensors trained in full
 * (`modules_to_save`, biases) are kept. Adapters without `initialWeights` are returned as they are.
 * rsLoRA together with rank/alpha patterns is refused (`LORA_CONFIG_UNSUPPORTED`), as PEFT refuses it.
 */
export function convertBaseWeightAdapter(adapters: LoraAdapters): LoraAdapters {
  const { config, weights, initialWeights } = adapters;
  if (!initialWeights || !weights || !isBaseWeightInitialization(config.initLoraWeights)) return adapters;
  if (
    config.rsLora &&
    (Object.keys(config.rankPattern ?? {}).length > 0 || Object.keys(config.alphaPattern ?? {}).length > 0)
  ) {
    throw tunekitError(
      'LORA_CONFIG_UNSUPPORTED',
      'A PiSSA/OLoRA adapter cannot be converted to LoRA with rsLora and rankPattern/alphaPattern together (PEFT refuses this conversion too)',
      { field: 'init_lora_weights', value: config.initLoraWeights },
    );
  }
  const converted: TensorMap = new Map();
  for (const [name, tensor] of weights) {
    const initial = initialWeights.get(name);
    const matrix = parseLoraTensorName(name)?.matrix;
    if (initial && matrix === 'A') converted.set(name, stackRows(tensor, initial));
    else if (initial && matrix === 'B') converted.set(name, stackColumnsNegated(tensor, initial));
    else converted.set(name, tensor);
  }
  return {
    ...adapters,
    config: {
      ...config,
      r: config.r * 2,
      alpha: config.rsLora ? config.alpha * Math.SQRT2 : config.alpha * 2,
      rankPattern: double(config.rankPattern ?? {}),
      alphaPattern: double(config.alphaPattern ?? {}),
      initLoraWeights: true,
    },
    weights: converted,
    initialWeights: undefined,
  };
}
