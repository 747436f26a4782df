import type { GradientRuleTable } from './gradient-rule.js';
import { ELEMENTWISE_RULES } from './rules/elementwise-rules.js';
import { LOSS_RULES } from './rules/loss-rules.js';
import { MATRIX_RULES } from './rules/matrix-rules.js';
import { NORMALIZATION_RULES } from './rules/normalization-rules.js';
import { QUANTIZATION_RULES } from './rules/quantization-rules.js';
import { REDUCTION_RULES } from './rules/reduction-rules.js';
import { SHAPE_RULES } from './rules/shape-rules.js';

/** Every built-in gradient rule, one entry per ONNX operator (and `com.microsoft:MatMulNBits`). */
export const GRADIENT_RULES: GradientRuleTable = {
  ...ELEMENTWISE_RULES,
  ...MATRIX_RULES,
  ...REDUCTION_RULES,
  ...SHAPE_RULES,
  ...NORMALIZATION_RULES,
  ...LOSS_RULES,
  ...QUANTIZATION_RULES,
};
