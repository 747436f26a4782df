import type { TensorMap } from '../safetensors/tensor-map.js';
import { baseTensorName } from './peft-names.js';

/**
 * Copies an adapter's fully trained modules (PEFT `modules_to_save`, saved as
 * `base_model.model.classifier.weight` …) over the base weights (`classifier.weight` …), as PEFT's
 * `merge_and_unload` does. LoRA tensors are ignored (merge them with `mergeLora`). Returns a new map.
 */
export function applyModulesToSave(weights: TensorMap, adapters: TensorMap): TensorMap {
  const merged: TensorMap = new Map(weights);
  for (const [name, tensor] of adapters) {
    const baseName = baseTensorName(name);
    if (baseName === undefined) continue;
    merged.set(baseName, { shape: [...tensor.shape], data: tensor.data.slice() });
  }
  return merged;
}
