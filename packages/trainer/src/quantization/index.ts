export * from './build-quantized-linear.js';
export * from './declare-quantized-linears.js';
export * from './quantize-int4-blocks.js';
export * from './quantize-linear-weights.js';
