import type { Tensor } from 'onnxruntime-node';
import type { OnnxRuntime } from '../backends/onnxruntime-backend.js';
import { type DropoutMaskCollector, dropoutMaskSize } from '../models/create-dropout.js';

/** Which masks to draw: the same key always gives the same masks. */
export interface DropoutMaskKey {
  /** The run's seed (`TrainingOptions.seed`). */
  seed: number;
  /** The optimizer step, from 1. */
  step: number;
  /** The micro-batch within the step (gradient accumulation), from 0. */
  microBatch: number;
}

/**
 * Fills `target` with an inverted-dropout mask: `0` with probability `ratio`, else
 * `1 / (1 − ratio)`. The draws come from sfc32 seeded with (seed, step, micro-batch, site), so the
 * mask depends only on the key: a run resumed from a checkpoint at step n draws, from step n + 1 on,
 * the masks the uninterrupted run drew.
 */
export function fillDropoutMask(
  target: Float32Array,
  ratio: number,
  key: DropoutMaskKey,
  site: number,
): void {
  if (ratio >= 1) {
    target.fill(0);
    return;
  }
  const keep = 1 / (1 - ratio);
  // Elements whose 32-bit draw falls below the threshold are dropped.
  const threshold = Math.floor(ratio * 4294967296);
  let a = key.seed | 0;
  let b = key.step | 0;
  let c = key.microBatch | 0;
  let d = (site * 0x9e3779b9) | 0;
  let t = 0;
  // sfc32: 16 warm-up draws mix the seed into the state. The step is repeated in the hot loop below
  // on purpose: one loop with a branch for the warm-up measured about 4% slower.
  for (let round = 0; round < 16; round++) {
    t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
  }
  for (let index = 0; index < target.length; index++) {
    t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    target[index] = t >>> 0 < threshold ? 0 : keep;
  }
}

/**
 * The feeds of a training graph's dropout masks, reusing one buffer per site between runs (a
 * buffer is reallocated only when the batch shape needs a different size).
 */
export class DropoutMaskFeeds {
  private readonly buffers = new Map<string, Float32Array>();

  /** @param dropout - the graph's masks (`TrainingGraph.dropout`). */
  constructor(
    private readonly ort: OnnxRuntime,
    private readonly dropout: DropoutMaskCollector,
  ) {}

  /**
   * The mask tensors for one run on a `[batch, sequence]` batch; without a key, masks of ones
   * (evaluation mode on the training graph).
   */
  feeds(shape: { batch: number; sequence: number }, key: DropoutMaskKey | undefined): Record<string, Tensor> {
    const feeds: Record<string, Tensor> = {};
    this.dropout.masks.forEach((mask, index) => {
      const size = dropoutMaskSize(mask.shape, this.dropout.dimensions, shape);
      let buffer = this.buffers.get(mask.inputName);
      if (buffer?.length !== size) {
        buffer = new Float32Array(size);
        this.buffers.set(mask.inputName, buffer);
      }
      if (key) fillDropoutMask(buffer, mask.ratio, key, index + 1);
      else buffer.fill(1);
      feeds[mask.inputName] = new this.ort.Tensor('float32', buffer, [size]);
    });
    return feeds;
  }
}
