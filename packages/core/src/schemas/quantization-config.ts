import { z } from 'zod';

/**
 * Settings of a quantized frozen base (QLoRA-style): the weights of the frozen linear layers are
 * stored as 4-bit codes in blocks of `blockSize` values along the input axis, each block with one
 * float32 scale (see `quantizeInt4Blocks`). `blockSize` is a power of two ≥ 16 that divides every
 * quantized layer's input size (onnxruntime's `MatMulNBits` requirement and ours).
 *
 * `backward` chooses how d(loss)/d(x) = dy·W is computed through a quantized layer:
 * - `dequantize` (default): the graph unpacks the same codes and scales the forward `MatMulNBits`
 *   reads (uint8 Div/Mul/Sub, one per-axis `DequantizeLinear`) into float32 `W` for one Gemm: forward and
 *   backward use exactly the same dequantized matrix.
 * - `transposed-copy`: a second `MatMulNBits` on `Wᵀ` quantized from the dequantized `W` (blocks
 *   along the output axis); no float matrix is materialized, at the price of a second rounding
 *   (the backward then differentiates a slightly different matrix).
 */
export const QuantizationConfigSchema = z
  .object({
    bits: z.literal(4),
    blockSize: z
      .number()
      .int()
      .min(16)
      .refine((size) => (size & (size - 1)) === 0, { message: 'blockSize must be a power of two' })
      .default(64),
    backward: z.enum(['dequantize', 'transposed-copy']).default('dequantize'),
  })
  .strict();

/** Parsed quantization settings. */
export type QuantizationConfig = z.infer<typeof QuantizationConfigSchema>;

/** Quantization settings as callers write them (`blockSize` and `backward` optional). */
export type QuantizationOptions = z.input<typeof QuantizationConfigSchema>;
