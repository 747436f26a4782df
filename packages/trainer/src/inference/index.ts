export * from './model-predictor.js';
export * from './open-model.js';
export * from './resolve-model-source.js';
