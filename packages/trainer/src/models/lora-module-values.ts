import type { ResolvedLoraConfig } from '../lora/lora-config.js';
import type { Value } from '../onnx/graph.js';

/** Adapter tensors of one module, as graph values. */
export interface LoraModuleValues {
  a: Value;
  b: Value;
}

/** The adapters a forward builder applies: their settings and the A/B values by module path. */
export interface LoraGraphAdapters {
  config: ResolvedLoraConfig;
  modules: Map<string, LoraModuleValues>;
}
