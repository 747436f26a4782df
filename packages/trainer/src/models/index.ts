export * from './architecture-registry.js';
export * from './bert/index.js';
export * from './causal-language-model-loss.js';
export * from './create-model.js';
export * from './gpt2/index.js';
export * from './llama/index.js';
export * from './load-model.js';
export * from './model-architecture.js';
