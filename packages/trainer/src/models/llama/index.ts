export * from './build-llama-forward.js';
export * from './llama-architecture.js';
export * from './llama-config.js';
export * from './llama-weights.js';
export * from './rms-norm.js';
export * from './rotary-embedding.js';
