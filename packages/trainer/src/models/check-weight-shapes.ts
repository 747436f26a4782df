import { tunekitError } from '@tunekit/core';
import type { TensorMap } from '../safetensors/tensor-map.js';

/** How {@link checkWeightShapes} names the model in its errors. */
export interface WeightShapeDescription {
  /** The model as the messages name it (`GPT-2`, `llama`, `bert` …). */
  modelName: string;
  /** Appended to the message of a missing tensor (` (a sequence-classification checkpoint is needed)`). */
  missingHint?: string;
}

/**
 * Checks that every expected tensor is present in `weights` with its shape, in the order of
 * `expected`; throws `MODEL_INVALID` (422) naming the first missing or misshapen tensor.
 */
export function checkWeightShapes(
  weights: TensorMap,
  expected: ReadonlyMap<string, readonly number[]>,
  description: WeightShapeDescription,
): void {
  for (const [name, shape] of expected) {
    const tensor = weights.get(name);
    if (!tensor || tensor.shape.join(',') !== shape.join(',')) {
      throw tunekitError(
        'MODEL_INVALID',
        tensor
          ? `${description.modelName} weight "${name}" has shape [${tensor.shape}], expected [${shape}]`
          : `${description.modelName} weight "${name}" is missing${description.missingHint ?? ''}`,
        { name, expected: shape, actual: tensor?.shape },
      );
    }
  }
}
