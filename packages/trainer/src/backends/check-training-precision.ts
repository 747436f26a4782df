import { type TrainingPrecision, tunekitError } from '@tunekit/core';

/**
 * Refuses a training precision the device that will run the session cannot compute in, with a
 * coded error instead of onnxruntime's `NOT_IMPLEMENTED` at session creation: `bfloat16` on the CPU
 * execution provider (`PRECISION_UNSUPPORTED`), which has no bfloat16 kernel for MatMul, Gemm or
 * any arithmetic operator (measured with `bench/half-precision-kernels.ts`, onnxruntime-node
 * 1.30), even on CPUs with `avx512_bf16`. `float16` runs everywhere (the CPU provider has float16
 * kernels for every operator the graphs use); `float32` always. Other devices (CUDA, third-party
 * backends) are left to their provider.
 */
export function checkTrainingPrecision(precision: TrainingPrecision, device: string): void {
  if (precision === 'bfloat16' && device === 'cpu') {
    throw tunekitError(
      'PRECISION_UNSUPPORTED',
      "precision 'bfloat16' needs a device with bfloat16 kernels (CUDA): onnxruntime's CPU execution provider has no bfloat16 MatMul, Gemm or arithmetic kernels. Use 'float16' or 'float32' on the CPU.",
      { precision, device },
    );
  }
}
