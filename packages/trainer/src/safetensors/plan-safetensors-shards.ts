/** One file of a planned split: its name and the tensors it holds, in order. */
export interface SafetensorsShard {
  file: string;
  tensors: string[];
}

/** How a state dict is split into files (huggingface_hub's `StateDictSplit`). */
export interface SafetensorsShardPlan {
  /** The files in order; one `model.safetensors` when everything fits in one shard. */
  shards: SafetensorsShard[];
  /** Bytes of tensor data in all files (`metadata.total_size` of the index). */
  totalSize: number;
  /** Whether there are several files (then an index is written). */
  sharded: boolean;
}

/**
 * Splits tensors (name and size in bytes, in state-dict order) into shards of at most
 * `maxShardSize` bytes exactly as huggingface_hub's `split_state_dict_into_shards_factory` (which
 * transformers' `save_pretrained(max_shard_size=…)` uses) does: tensors are taken in order and a new
 * shard starts when the next tensor would tip the current one over the limit; a tensor larger than the
 * limit gets a shard of its own, placed when it is met (so it can come before the shard being filled).
 * Files are `model-00001-of-0000N.safetensors`, or `model.safetensors` when one shard holds all.
 */
export function planSafetensorsShards(
  sizes: Iterable<readonly [name: string, bytes: number]>,
  maxShardSize: number,
): SafetensorsShardPlan {
  const shards: string[][] = [];
  let current: string[] = [];
  let currentSize = 0;
  let totalSize = 0;
  const names: string[] = [];
  for (const [name, bytes] of sizes) {
    names.push(name);
    totalSize += bytes;
    if (bytes > maxShardSize) {
      shards.push([name]);
      continue;
    }
    if (currentSize + bytes > maxShardSize) {
      shards.push(current);
      current = [];
      currentSize = 0;
    }
    current.push(name);
    currentSize += bytes;
  }
  if (current.length > 0) shards.push(current);
  if (shards.length <= 1) {
    return { shards: [{ file: 'model.safetensors', tensors: names }], totalSize, sharded: false };
  }
  const count = String(shards.length).padStart(5, '0');
  return {
    shards: shards.map((tensors, index) => ({
      file: `model-${String(index + 1).padStart(5, '0')}-of-${count}.safetensors`,
      tensors,
    })),
    totalSize,
    sharded: true,
  };
}
