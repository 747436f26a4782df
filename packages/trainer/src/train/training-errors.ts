import { TunekitError, tunekitError } from '@tunekit/core';

const MEMORY_PATTERN =
  /bad_alloc|out of memory|failed to allocate|allocat(e|ion) failed|cudaErrorMemoryAllocation|OOM/i;

/** True when an onnxruntime failure is an allocation failure. */
export function isOutOfMemoryError(error: unknown): boolean {
  return error instanceof Error && MEMORY_PATTERN.test(error.message);
}

/**
 * Wraps a failure of a training step: allocation failures become `TRAINING_OUT_OF_MEMORY` with
 * what to lower; others `TRAINING_STEP_FAILED`, both naming the step.
 */
export function trainingStepError(
  error: unknown,
  step: number,
  batch: { batchSize: number; length: number },
): TunekitError {
  if (TunekitError.isInstance(error)) return error;
  const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
  if (isOutOfMemoryError(error)) {
    return tunekitError(
      'TRAINING_OUT_OF_MEMORY',
      `Step ${step}: a batch of ${batch.batchSize} × ${batch.length} tokens does not fit in memory. ` +
        'Lower batchSize (and raise gradientAccumulationSteps to keep the effective batch) or lower maxLength.',
      { step, batchSize: batch.batchSize, length: batch.length, reason },
      { cause: error },
    );
  }
  return tunekitError(
    'TRAINING_STEP_FAILED',
    `Step ${step} failed: ${reason}`,
    { step, reason },
    { cause: error },
  );
}
