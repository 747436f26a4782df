export * from './adapter-key-report.js';
export * from './apply-modules-to-save.js';
export * from './initialize-from-base-weights.js';
export * from './lora-config.js';
export * from './lora-weights.js';
export * from './peft-names.js';
