export * from './architecture-registry.js';
export * from './causal-language-model-loss.js';
export * from './create-model.js';
export * from './gpt2/index.js';
export * from './load-model.js';
export * from './model-architecture.js';
