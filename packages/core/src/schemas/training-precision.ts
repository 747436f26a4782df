import { z } from 'zod';

/**
 * The compute precision of a training graph (mixed precision):
 * - `float32` (default): every operator in float32.
 * - `float16`: matrix products (linear layers, attention, the LM head) compute in float16 from
 *   float32 master weights cast inside the graph, frozen weight matrices are stored in float16 (half
 *   their memory), and everything numerically sensitive stays float32 (norms and their statistics,
 *   softmax, log-softmax and cross-entropy, residual sums, the optimizer). Gradients come back in
 *   float32; dynamic loss scaling (as `torch.cuda.amp.GradScaler`: start 2^16, ×2 after 2,000 finite
 *   steps, ×0.5 and the step skipped on an inf/NaN gradient) keeps small float16 gradients from
 *   flushing to zero.
 * - `bfloat16`: the same with bfloat16 and no loss scaling (bfloat16 has float32's range). Needs a
 *   device with bfloat16 kernels (CUDA); the CPU execution provider has none for MatMul/Gemm, so
 *   it is refused there with `PRECISION_UNSUPPORTED`.
 */
export const TrainingPrecisionSchema = z.enum(['float32', 'float16', 'bfloat16']);

/** A training graph's compute precision (see {@link TrainingPrecisionSchema}). */
export type TrainingPrecision = z.infer<typeof TrainingPrecisionSchema>;
