export * from './float-conversion.js';
export * from './safetensors-file.js';
export * from './tensor-map.js';
