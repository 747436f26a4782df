export * from './lora-config.js';
export * from './lora-weights.js';
