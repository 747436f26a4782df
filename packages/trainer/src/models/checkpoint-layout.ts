import type { FloatTensor, TensorMap } from '../safetensors/tensor-map.js';

/**
 * What one tensor of a checkpoint is to the model builders, as an architecture classifies it by name:
 * - `weight`: used, under the builders' (canonical) name `name`;
 * - `tied`: a stored copy of a tied weight (GPT-2's or Llama's `lm_head.weight` when
 *   `tie_word_embeddings`): not read, written back from `name` when saving;
 * - `buffer`: a constant the model recomputes (`attn.bias`, `attn.masked_bias`, `rotary_emb.inv_freq`,
 *   `position_ids`): kept as read and written back, not reported;
 * - `head`: a known module this task does not use (BERT's `cls.*` pretraining heads, RoBERTa's
 *   pooler): kept as read and written back, reported in `unexpectedKeys` as transformers does;
 * - `unexpected`: a name the architecture does not know: kept and reported; `loadModel` refuses it
 *   unless `strict: false`.
 */
export type CheckpointTensorRole =
  | { kind: 'weight'; name: string }
  | { kind: 'tied'; name: string }
  | { kind: 'buffer' }
  | { kind: 'head' }
  | { kind: 'unexpected' };

/** One tensor of the checkpoint as it was read: its name in the file and its role. */
export interface CheckpointTensor {
  /** Name in the checkpoint (`h.0.attn.c_attn.weight` in the original GPT-2 files). */
  name: string;
  role: CheckpointTensorRole;
  /** Storage type in the file (`F32`, `F16`, `BF16`; `I64` for an integer buffer). */
  dtype: string;
}

/**
 * How a model folder's tensors map to the builders' names, so that saving writes back the layout
 * that was read: the same tensor names in the same order, tied copies and buffers included.
 */
export interface CheckpointLayout {
  /** The checkpoint's tensors in file order (shards in index order). */
  tensors: CheckpointTensor[];
  /** Values of the `buffer`, `head` and `unexpected` tensors, written back unchanged. */
  kept: TensorMap;
}

/**
 * The tensors to write for `weights` (builders' names) in the checkpoint layout that was read:
 * each checkpoint tensor under its own name and in its own order (a tied copy takes the current value
 * of the weight it copies, kept tensors their value as read), then any weight the layout does not
 * name (a newly initialised head) under its builders' name. Without a layout, `weights` as they are.
 */
export function toCheckpointLayout(weights: TensorMap, layout: CheckpointLayout | undefined): TensorMap {
  if (!layout) return weights;
  const written: TensorMap = new Map();
  const covered = new Set<string>();
  for (const tensor of layout.tensors) {
    let value: FloatTensor | undefined;
    if (tensor.role.kind === 'weight' || tensor.role.kind === 'tied') {
      value = weights.get(tensor.role.name);
      if (tensor.role.kind === 'weight') covered.add(tensor.role.name);
    } else value = layout.kept.get(tensor.name);
    if (value) written.set(tensor.name, value);
  }
  for (const [name, value] of weights) if (!covered.has(name) && !written.has(name)) written.set(name, value);
  return written;
}

/** Storage types a checkpoint's floating-point tensors can be written in. */
export type CheckpointDtype = 'F32' | 'F16' | 'BF16';

const CHECKPOINT_DTYPES = new Set<string>(['F32', 'F16', 'BF16']);

/**
 * The storage type of each tensor to write (checkpoint names, as {@link toCheckpointLayout} returns
 * them): the dtype each was read in, and for tensors the layout lacks (a newly initialised head) the
 * dtype most of the checkpoint's weights have. Without a layout, everything is F32.
 */
export function checkpointDtypes(
  written: Iterable<string>,
  layout: CheckpointLayout | undefined,
): Map<string, CheckpointDtype> {
  const read = new Map<string, CheckpointDtype>();
  const counts = new Map<CheckpointDtype, number>();
  for (const tensor of layout?.tensors ?? []) {
    if (!CHECKPOINT_DTYPES.has(tensor.dtype)) continue;
    const dtype = tensor.dtype as CheckpointDtype;
    read.set(tensor.name, dtype);
    if (tensor.role.kind === 'weight') counts.set(dtype, (counts.get(dtype) ?? 0) + 1);
  }
  let common: CheckpointDtype = 'F32';
  for (const [dtype, count] of counts) if (count > (counts.get(common) ?? 0)) common = dtype;
  const dtypes = new Map<string, CheckpointDtype>();
  for (const name of written) dtypes.set(name, read.get(name) ?? common);
  return dtypes;
}
