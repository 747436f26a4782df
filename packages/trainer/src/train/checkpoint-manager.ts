import { tunekitError } from '@tunekit/core';
import type { DataPosition } from '../data/batch-sampler.js';
import type { AdamWState } from '../optim/adamw.js';
import type { CheckpointStore } from './checkpoint-store.js';
import type { DynamicLossScalerState } from './dynamic-loss-scaler.js';

/** The manifest of a checkpoint: written last, so its presence means the checkpoint is complete. */
export const CHECKPOINT_MANIFEST = 'trainer_state.json';
/** The tensors of a checkpoint: trainable parameters and AdamW moments, float32 little-endian. */
export const CHECKPOINT_TENSORS = 'tensors.bin';

/** The training state stored with a checkpoint (everything needed to resume exactly). */
export interface TrainerCheckpointState {
  format: 'tunekit-checkpoint/1';
  step: number;
  /** Where the data sampler continues. */
  dataPosition: DataPosition;
  /** Sampling generator state. */
  randomState: number;
  seed: number;
  /** Training loss of every optimizer step so far. */
  lossHistory: number[];
  /** Validation loss at this checkpoint, when one was computed at this step. */
  validationLoss?: number;
  bestValidationLoss?: number;
  /** Evaluations without improvement (early stopping). */
  evaluationsWithoutImprovement: number;
  /** AdamW's update count. */
  optimizerStep: number;
  /** The loss scaler of a float16 run (see `DynamicLossScaler`). */
  lossScaler?: DynamicLossScalerState;
  /** Tensor index into `tensors.bin`. */
  tensors: Array<{ name: string; role: 'parameter' | 'first-moment' | 'second-moment'; length: number }>;
  createdAt: string;
}

/** What a checkpoint holds besides its state. */
export interface CheckpointContents {
  state: TrainerCheckpointState;
  /** Trainable tensors by parameter name. */
  parameters: Map<string, Float32Array>;
  optimizer: AdamWState;
}

/** Name of the checkpoint of a step (`step-000120`: names sort by step). */
export function checkpointName(step: number): string {
  return `step-${String(step).padStart(6, '0')}`;
}

/**
 * Writes a checkpoint: tensors first, manifest last (each file atomically), so a crash in the
 * middle leaves an incomplete checkpoint that loading ignores.
 */
export async function saveCheckpoint(
  store: CheckpointStore,
  parameters: Array<{ name: string; data: Float32Array }>,
  optimizer: AdamWState,
  state: Omit<TrainerCheckpointState, 'tensors' | 'format' | 'createdAt' | 'optimizerStep'>,
): Promise<string> {
  const name = checkpointName(state.step);
  const tensors: TrainerCheckpointState['tensors'] = [];
  const chunks: Float32Array[] = [];
  parameters.forEach((parameter, index) => {
    const first = optimizer.firstMoments[index] as Float32Array;
    const second = optimizer.secondMoments[index] as Float32Array;
    for (const [role, data] of [
      ['parameter', parameter.data],
      ['first-moment', first],
      ['second-moment', second],
    ] as const) {
      tensors.push({ name: parameter.name, role, length: data.length });
      chunks.push(data);
    }
  });
  const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const packed = new Float32Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    packed.set(chunk, offset);
    offset += chunk.length;
  }
  await store.write(name, CHECKPOINT_TENSORS, new Uint8Array(packed.buffer));
  const manifest: TrainerCheckpointState = {
    ...state,
    format: 'tunekit-checkpoint/1',
    tensors,
    optimizerStep: optimizer.step,
    createdAt: new Date().toISOString(),
  };
  await store.write(name, CHECKPOINT_MANIFEST, JSON.stringify(manifest));
  return name;
}

/** Reads a complete checkpoint; fails with `CHECKPOINT_NOT_FOUND` or `CHECKPOINT_INVALID`. */
export async function loadCheckpoint(store: CheckpointStore, name: string): Promise<CheckpointContents> {
  const manifestBytes = await store.read(name, CHECKPOINT_MANIFEST);
  if (!manifestBytes) {
    throw tunekitError('CHECKPOINT_NOT_FOUND', `No complete checkpoint at ${store.location(name)}`, {
      checkpoint: store.location(name),
    });
  }
  const state = JSON.parse(new TextDecoder().decode(manifestBytes)) as TrainerCheckpointState;
  const bytes = await store.read(name, CHECKPOINT_TENSORS);
  const expected = state.tensors.reduce((sum, tensor) => sum + tensor.length, 0) * 4;
  if (state.format !== 'tunekit-checkpoint/1' || !bytes || bytes.byteLength !== expected) {
    throw tunekitError(
      'CHECKPOINT_INVALID',
      `Checkpoint ${store.location(name)} is damaged (tensor file missing or of the wrong size)`,
      { checkpoint: store.location(name) },
    );
  }
  const aligned = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(aligned.buffer).set(bytes);
  const parameters = new Map<string, Float32Array>();
  const firstMoments: Float32Array[] = [];
  const secondMoments: Float32Array[] = [];
  let offset = 0;
  for (const tensor of state.tensors) {
    const data = aligned.subarray(offset, offset + tensor.length);
    offset += tensor.length;
    if (tensor.role === 'parameter') parameters.set(tensor.name, data);
    else if (tensor.role === 'first-moment') firstMoments.push(data);
    else secondMoments.push(data);
  }
  return {
    state,
    parameters,
    optimizer: { step: state.optimizerStep, firstMoments, secondMoments },
  };
}

/** The complete checkpoints in a store, by ascending step. */
export async function listCheckpoints(
  store: CheckpointStore,
): Promise<Array<{ name: string; step: number }>> {
  const names = await store.list();
  const complete: Array<{ name: string; step: number }> = [];
  for (const name of names) {
    const match = /^step-(\d+)$/.exec(name);
    if (match && (await store.read(name, CHECKPOINT_MANIFEST))) {
      complete.push({ name, step: Number(match[1]) });
    }
  }
  return complete.sort((a, b) => a.step - b.step);
}
