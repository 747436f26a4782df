export * from './data-type.js';
export * from './graph.js';
export * from './serialize-model.js';
export { broadcastShapes } from './shape-inference.js';
export * from './tensor-data.js';
