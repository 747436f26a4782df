import { type LoraConfig, LoraConfigSchema } from '@tunekit/core';
import { loraModuleSettings } from './lora-module-settings.js';

// The LoRA contract is core's (one schema for the job input, the trainer, adapter files and HTTP).
export { type LoraConfig, LoraConfigSchema };

/**
 * Scaling factor applied to `B·A` for the default rank and alpha: `alpha / r`, or `alpha / sqrt(r)`
 * with rsLoRA. Per-module values (`rankPattern`, `alphaPattern`) come from `loraModuleSettings`.
 */
export function loraScaling(config: LoraConfig): number {
  return loraModuleSettings({ ...config, rankPattern: {}, alphaPattern: {} }, '').scaling;
}
