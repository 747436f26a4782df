export * from './file-backed-tensor.js';
export * from './float-conversion.js';
export * from './parse-shard-size.js';
export * from './plan-safetensors-shards.js';
export * from './safetensors-file.js';
export * from './tensor-map.js';
export * from './write-safetensors-shards.js';
