export * from './build-gpt2-forward.js';
export * from './gpt2-architecture.js';
export * from './gpt2-config.js';
export * from './gpt2-weights.js';
