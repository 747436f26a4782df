import { tunekitError } from '@tunekit/core';
import { bertArchitecture, distilBertArchitecture, robertaArchitecture } from './bert/bert-architecture.js';
import { gpt2Architecture } from './gpt2/gpt2-architecture.js';
import { llamaArchitecture, qwen2Architecture } from './llama/llama-architecture.js';
import type { ModelArchitecture } from './model-architecture.js';

/** Built-in architectures by `model_type` (Llama/Qwen2 and BERT are added here as they land). */
export const BUILT_IN_ARCHITECTURES: Readonly<Record<string, ModelArchitecture<never>>> = Object.freeze({
  gpt2: gpt2Architecture as unknown as ModelArchitecture<never>,
  bert: bertArchitecture as unknown as ModelArchitecture<never>,
  roberta: robertaArchitecture as unknown as ModelArchitecture<never>,
  distilbert: distilBertArchitecture as unknown as ModelArchitecture<never>,
  llama: llamaArchitecture as unknown as ModelArchitecture<never>,
  qwen2: qwen2Architecture as unknown as ModelArchitecture<never>,
});

/**
 * Looks up an architecture by name (`config.json`'s `model_type`), in `extra` first (plugins' own
 * architectures) then among the built-ins. Throws `MODEL_UNKNOWN_ARCHITECTURE`.
 */
export function getArchitecture(
  name: string,
  extra: Readonly<Record<string, ModelArchitecture<never>>> = {},
  // biome-ignore lint/suspicious/noExplicitAny: callers pick the config type of the architecture they asked for
): ModelArchitecture<any> {
  const architecture = extra[name] ?? BUILT_IN_ARCHITECTURES[name];
  if (!architecture) {
    throw tunekitError('MODEL_UNKNOWN_ARCHITECTURE', `Unknown model architecture "${name}"`, {
      architecture: name,
      available: [...Object.keys(extra), ...Object.keys(BUILT_IN_ARCHITECTURES)],
    });
  }
  return architecture;
}
