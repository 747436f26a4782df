import type { ResolvedLoraConfig } from '../lora/lora-config.js';
import { baseTensorName, loraTensorNames, peftTensorName } from '../lora/peft-names.js';
import type { Graph, Value } from '../onnx/graph.js';
import type { TensorMap } from '../safetensors/tensor-map.js';
import { declareWeights } from './declare-weights.js';
import type { LoraGraphAdapters, LoraModuleValues } from './lora-module-values.js';
import type { TrainableParameter } from './model-architecture.js';
import type { ResolvedLoraAdapters } from './resolve-lora-adapters.js';

/** Options of {@link declareModelWeights}. */
export interface DeclareModelWeightsOptions {
  /** Base weights (canonical Hugging Face names), declared first. */
  weights: TensorMap;
  /** Adapters with their settings, declared after the base weights; none without LoRA. */
  adapters?: { config: ResolvedLoraConfig; resolved: ResolvedLoraAdapters };
  /** Which of the two groups are trainable graph inputs (the rest are initializers). */
  trainable: { base: boolean; adapters: boolean };
  /** Receives the trainable parameters, base weights first. */
  parameters: TrainableParameter[];
}

/** Result of {@link declareModelWeights}. */
export interface DeclaredModelWeights {
  /** Graph value of every base and adapter tensor by name. */
  values: Map<string, Value>;
  /** The adapters as a forward builder takes them; undefined without LoRA. */
  lora: LoraGraphAdapters | undefined;
}

/**
 * Declares a model's base weights and then its LoRA adapters (see {@link declareWeights}) and
 * returns their values with the per-module A/B values the forward builders apply. Adapter tensors that
 * are not LoRA tensors (`base_model.model.<name>`: PEFT `modules_to_save` and trained biases) replace
 * the base tensor `<name>`.
 */
export function declareModelWeights(graph: Graph, options: DeclareModelWeightsOptions): DeclaredModelWeights {
  // Base tensors the adapter trains in full (modules_to_save, biases) are declared once, as adapter
  // tensors under their PEFT names, and the forward finds them under their base names.
  const saved = options.adapters
    ? [...options.adapters.resolved.tensors.keys()]
        .map(baseTensorName)
        .filter((name): name is string => name !== undefined)
    : [];
  const savedNames = new Set(saved);
  const base =
    saved.length > 0
      ? new Map([...options.weights].filter(([name]) => !savedNames.has(name)))
      : options.weights;
  const values = declareWeights(graph, base, options.trainable.base, options.parameters);
  if (!options.adapters) return { values, lora: undefined };
  const { config, resolved } = options.adapters;
  for (const [name, value] of declareWeights(
    graph,
    resolved.tensors,
    options.trainable.adapters,
    options.parameters,
  )) {
    values.set(name, value);
  }
  for (const name of saved) values.set(name, values.get(peftTensorName(name)) as Value);
  const modules = new Map<string, LoraModuleValues>(
    resolved.modules.map((modulePath) => {
      const names = loraTensorNames(modulePath);
      return [modulePath, { a: values.get(names.a) as Value, b: values.get(names.b) as Value }];
    }),
  );
  return { values, lora: { config, modules } };
}
