export * from './add-gradients.js';
export * from './check-gradients.js';
export * from './gradient-rule.js';
export * from './gradient-rules.js';
export * from './reduce-to-shape.js';
