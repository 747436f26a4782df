/**
 * PEFT's tensor names, in one place. A PEFT LoRA adapter (`adapter_model.safetensors`) names the
 * tensors of the module `<module>` (a dotted path such as `transformer.h.0.attn.c_attn`)
 * `base_model.model.<module>.lora_A.weight` (`[r, in]`) and `…lora_B.weight` (`[out, r]`); PEFT's
 * in-memory state dict adds the adapter's name (`…lora_A.default.weight`). Tensors an adapter trains
 * in full (`modules_to_save`, biases with `bias: all | lora_only`) are saved as
 * `base_model.model.<tensor>` (`base_model.model.classifier.weight`). Every name Tunekit reads or
 * writes in that format goes through these functions.
 */

/** PEFT's prefix for tensors of a wrapped model (`base_model.model.`). */
export const PEFT_PREFIX = 'base_model.model.';

/** Which of a LoRA pair a tensor is: `A` (`[r, in]`, the down projection) or `B` (`[out, r]`). */
export type LoraMatrix = 'A' | 'B';

/** The parts of a PEFT LoRA tensor name (see {@link parseLoraTensorName}). */
export interface LoraTensorName {
  /** The adapted module's path (`transformer.h.0.attn.c_attn`). */
  modulePath: string;
  /** `A` or `B`. */
  matrix: LoraMatrix;
  /** The adapter name of PEFT's in-memory state dict (`default`), when the name has one. */
  adapterName?: string;
}

const LORA_TENSOR_NAME = /^base_model\.model\.(.+)\.lora_([AB])(?:\.([^.]+))?\.weight$/;

/** The PEFT name of one LoRA tensor of a module: `base_model.model.<module>.lora_<A|B>.weight`. */
export function loraTensorName(modulePath: string, matrix: LoraMatrix): string {
  return `${PEFT_PREFIX}${modulePath}.lora_${matrix}.weight`;
}

/** PEFT tensor names of the adapter on the module whose weight is `<module>.weight`. */
export function loraTensorNames(modulePath: string): { a: string; b: string } {
  return { a: loraTensorName(modulePath, 'A'), b: loraTensorName(modulePath, 'B') };
}

/**
 * Reads a PEFT LoRA tensor name, with or without the in-memory adapter name
 * (`base_model.model.<module>.lora_A[.default].weight`); `undefined` for any other name.
 */
export function parseLoraTensorName(name: string): LoraTensorName | undefined {
  const match = LORA_TENSOR_NAME.exec(name);
  if (!match) return undefined;
  const [, modulePath, matrix, adapterName] = match as unknown as [string, string, LoraMatrix, string?];
  return adapterName === undefined ? { modulePath, matrix } : { modulePath, matrix, adapterName };
}

/**
 * The saved name of a LoRA tensor: PEFT's in-memory adapter name dropped
 * (`…lora_A.default.weight` → `…lora_A.weight`); other names are returned as they are.
 */
export function withoutAdapterName(name: string): string {
  const parsed = parseLoraTensorName(name);
  return parsed ? loraTensorName(parsed.modulePath, parsed.matrix) : name;
}

/**
 * The name of the other tensor of a LoRA pair (`…lora_B.weight` of a `…lora_A.weight` and back, by
 * the name's ending); `undefined` for other names.
 */
export function loraPartnerName(name: string): string | undefined {
  if (name.endsWith('.lora_A.weight')) return `${name.slice(0, -'A.weight'.length)}B.weight`;
  if (name.endsWith('.lora_B.weight')) return `${name.slice(0, -'B.weight'.length)}A.weight`;
  return undefined;
}

/**
 * Whether an adapter tensor is a LoRA tensor (its name has `.lora_`, as PEFT's own checks do), as
 * opposed to a tensor trained in full (`modules_to_save`, biases).
 */
export function isLoraTensorName(name: string): boolean {
  return name.includes('.lora_');
}

/** The adapter name of a base tensor trained in full: `classifier.weight` → `base_model.model.classifier.weight`. */
export function peftTensorName(baseName: string): string {
  return `${PEFT_PREFIX}${baseName}`;
}

/**
 * The base name of a tensor an adapter trains in full (`base_model.model.classifier.weight` →
 * `classifier.weight`); `undefined` for a LoRA tensor or a name without PEFT's prefix.
 */
export function baseTensorName(name: string): string | undefined {
  if (isLoraTensorName(name) || !name.startsWith(PEFT_PREFIX)) return undefined;
  return name.slice(PEFT_PREFIX.length);
}

/**
 * Whether a tensor belongs to a module named in `modules_to_save`, as PEFT matches it: the module
 * name ends a dotted path and the tensor lies below it (`classifier` matches `classifier.weight` and
 * `roberta.classifier.dense.bias`, not `my_classifier.weight`).
 */
export function isTensorOfModule(tensorName: string, moduleName: string): boolean {
  return new RegExp(`^(.*\\.)?${moduleName}\\..+$`).test(tensorName);
}
