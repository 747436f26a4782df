import { loraModuleSettings } from '../lora/lora-module-settings.js';
import type { Graph, Value } from '../onnx/graph.js';
import type { ApplyDropout } from './create-dropout.js';
import type { LoraGraphAdapters } from './lora-module-values.js';

/**
 * Adds a module's LoRA update to the output of its base projection: `output + scaling ·
 * dropout(x)·Aᵀ·Bᵀ`, as two Gemms (the second accumulating into `output`). Returns `output`
 * unchanged when the module has no adapter.
 */
export function addLoraAdapter(
  graph: Graph,
  x: Value,
  output: Value,
  modulePath: string,
  lora: LoraGraphAdapters | undefined,
  dropout: ApplyDropout,
): Value {
  const adapter = lora?.modules.get(modulePath);
  if (!adapter || !lora) return output;
  const down = graph.gemm(dropout(x, lora.config.dropout), adapter.a, undefined, {
    transB: true,
    alpha: loraModuleSettings(lora.config, modulePath).scaling,
  });
  return graph.gemm(down, adapter.b, output, { transB: true });
}
