/**
 * `@tunekit/trainer/autodiff`: Reverse-mode gradients over ONNX graphs: one gradient rule per
 * operator, built from standard ONNX ops, and a finite-difference checker.
 *
 * Guides: [trainer-internals](../../../../docs/trainer-internals.md).
 *
 * @module @tunekit/trainer/autodiff
 */
export { type AddGradientsOptions, addGradients } from './add-gradients.js';
export {
  type CheckGradientsOptions,
  checkGradients,
  type GradientCheckInput,
  type GradientCheckResult,
} from './check-gradients.js';
export type { GradientContext, GradientRule, GradientRuleTable } from './gradient-rule.js';
export { GRADIENT_RULES } from './gradient-rules.js';
export { reduceToShape, reshapeTo, sumValues } from './reduce-to-shape.js';
