export * from './bert-architecture.js';
export * from './bert-config.js';
export * from './bert-weights.js';
export * from './build-bert-forward.js';
