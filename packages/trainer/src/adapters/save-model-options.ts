import { z } from 'zod';

/**
 * Options of `saveModelFolder`, `trainer.saveMerged` and `mergeAndSave`: the storage type and the
 * sharding of the weights written.
 */
export const SaveModelOptionsSchema = z.object({
  /**
   * Storage type of the weights: `auto` (default) writes each tensor in the dtype it was read in (a
   * BF16 checkpoint is saved BF16, its F32 buffers F32; tensors the checkpoint lacked take the dtype
   * most of its weights have; a model built in memory is F32), as transformers saves a model in the
   * dtype it was loaded in. `F32`, `F16`, `BF16` convert every tensor (round to nearest even, as
   * torch does) and set `torch_dtype` in `config.json`.
   */
  dtype: z.enum(['auto', 'F32', 'F16', 'BF16']).default('auto'),
  /**
   * Largest weight file, in bytes or with a decimal unit (`"5GB"`, `"500MB"`), as transformers'
   * `save_pretrained(max_shard_size=…)`: past it the weights are split into
   * `model-0000i-of-0000N.safetensors` plus `model.safetensors.index.json`. Default `"5GB"`.
   */
  maxShardSize: z.union([z.number().int().positive(), z.string().min(3)]).default('5GB'),
});

/** {@link SaveModelOptionsSchema} as callers pass it. */
export type SaveModelOptions = z.input<typeof SaveModelOptionsSchema>;
