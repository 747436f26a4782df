import { tunekitError } from '@tunekit/core';
import type { Value } from '../../onnx/graph.js';
import { dequantizeInt4BlockValues } from '../../quantization/build-quantized-linear.js';
import type { GradientRuleTable } from '../gradient-rule.js';
import { reshapeTo } from '../reduce-to-shape.js';

/**
 * Gradient rules of onnxruntime's quantized contrib operators (domain `com.microsoft`).
 *
 * `MatMulNBits` (`Y = A·dequant(B)ᵀ`, 4 bits, default zero point 8, no bias): d(A) = dY·dequant(B),
 * with `B` dequantized in the graph from the same codes and scales (`dequantizeInt4BlockValues`), so
 * the backward uses exactly the forward's matrix. `B` and the scales are frozen (no gradient).
 * `buildQuantizedLinear` sets a `customGradient` with the same formula; this rule covers
 * `MatMulNBits` nodes built any other way.
 */
export const QUANTIZATION_RULES: GradientRuleTable = {
  MatMulNBits: (context) => {
    const g = context.graph;
    const [a, data, scales] = context.inputs as [Value, Value, Value];
    const bits = context.attribute('bits', 4);
    if (bits !== 4 || context.inputs.slice(3).some((input) => input !== undefined)) {
      throw tunekitError(
        'AUTODIFF_UNSUPPORTED',
        `MatMulNBits gradient needs bits 4 without zero points, g_idx or bias (node "${context.node.name}")`,
        { node: context.node.name, bits },
      );
    }
    if (!context.needsGradient(0)) return [undefined];
    const dy = context.outputGradients[0] as Value;
    const rows = context.attribute('N', 0);
    const columns = context.attribute('K', 0);
    const blockSize = context.attribute('block_size', 0);
    const weight = dequantizeInt4BlockValues(g, { data, scales, rows, columns, blockSize }, dy);
    const dy2 = dy.shape.length === 2 ? dy : g.reshape(dy, [-1, rows]);
    return [reshapeTo(g, g.gemm(dy2, weight), a)];
  },
};
