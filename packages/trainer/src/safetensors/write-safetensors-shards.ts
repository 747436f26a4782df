import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseShardSize } from './parse-shard-size.js';
import { planSafetensorsShards, type SafetensorsShardPlan } from './plan-safetensors-shards.js';
import { type SafetensorsDtype, safetensorsDtypeBytes, writeSafetensors } from './safetensors-file.js';
import type { FloatTensor, TensorMap } from './tensor-map.js';

/** transformers' default `max_shard_size` of `save_pretrained`. */
export const DEFAULT_MAX_SHARD_SIZE = '5GB';

/** The index file of a sharded checkpoint. */
export const SAFETENSORS_INDEX_FILE = 'model.safetensors.index.json';

/** Options of {@link writeSafetensorsShards}. */
export interface WriteSafetensorsShardsOptions {
  /** Storage type of the tensors `dtypes` does not name (default F32). */
  dtype?: SafetensorsDtype;
  /** Storage type per tensor name. */
  dtypes?: ReadonlyMap<string, SafetensorsDtype>;
  /** Largest shard, in bytes or as `"5GB"` (decimal units, see `parseShardSize`). Default `"5GB"`. */
  maxShardSize?: number | string;
}

/** What {@link writeSafetensorsShards} wrote. */
export interface WrittenSafetensorsShards extends SafetensorsShardPlan {
  /** The index written (sharded only): `{ metadata: { total_size }, weight_map }`. */
  index?: { metadata: { total_size: number }; weight_map: Record<string, string> };
}

/** Files a previous save may have left that would shadow or contradict the new one. */
const STALE_WEIGHTS = /^model(-\d{5}-of-\d{5})?\.safetensors$|^model\.safetensors\.index\.json$/;

/**
 * Writes a model's tensors as transformers' `save_pretrained(max_shard_size=…)` does: split with
 * huggingface_hub's rule (see {@link planSafetensorsShards}) into `model.safetensors`, or into
 * `model-0000i-of-0000N.safetensors` files plus `model.safetensors.index.json`
 * (`{ metadata: { total_size }, weight_map }`, keys sorted, two-space indent, as transformers writes
 * it). Each file carries `{ format: 'pt' }` metadata. Weight files of an earlier save in the folder
 * that the new one does not write are removed (transformers does the same), so a stale
 * `model.safetensors` can never shadow a new sharded checkpoint.
 */
export async function writeSafetensorsShards(
  directory: string,
  tensors: TensorMap,
  options: WriteSafetensorsShardsOptions = {},
): Promise<WrittenSafetensorsShards> {
  const maxShardSize = parseShardSize(options.maxShardSize ?? DEFAULT_MAX_SHARD_SIZE);
  const dtypeOf = (name: string): SafetensorsDtype => options.dtypes?.get(name) ?? options.dtype ?? 'F32';
  const plan = planSafetensorsShards(
    [...tensors].map(([name, tensor]) => [name, tensor.data.length * safetensorsDtypeBytes(dtypeOf(name))]),
    maxShardSize,
  );
  const written = new Set(plan.shards.map((shard) => shard.file));
  if (plan.sharded) written.add(SAFETENSORS_INDEX_FILE);
  for (const entry of await readdir(directory).catch(() => [] as string[])) {
    if (STALE_WEIGHTS.test(entry) && !written.has(entry)) await rm(join(directory, entry), { force: true });
  }
  for (const shard of plan.shards) {
    const part: TensorMap = new Map();
    for (const name of shard.tensors) part.set(name, tensors.get(name) as FloatTensor);
    await writeSafetensors(join(directory, shard.file), part, {
      dtypes: new Map(shard.tensors.map((name) => [name, dtypeOf(name)])),
      metadata: { format: 'pt' },
    });
  }
  if (!plan.sharded) return plan;
  const weightMap: Record<string, string> = {};
  const assigned = new Map<string, string>();
  for (const shard of plan.shards) for (const name of shard.tensors) assigned.set(name, shard.file);
  for (const name of [...assigned.keys()].sort()) weightMap[name] = assigned.get(name) as string;
  const index = { metadata: { total_size: plan.totalSize }, weight_map: weightMap };
  await writeFile(join(directory, SAFETENSORS_INDEX_FILE), `${JSON.stringify(index, null, 2)}\n`);
  return { ...plan, index };
}
