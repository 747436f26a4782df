import { SeededRandom } from '@tunekit/core/statistics';

/** Where a run is in its data: the epoch and the next batch of that epoch. */
export interface DataPosition {
  epoch: number;
  /** Index of the next batch within the epoch. */
  batch: number;
}

/**
 * Deterministic batches of sequence indices: the order of epoch `e` is a permutation drawn from
 * `seed + e`, so any {@link DataPosition} can be re-created exactly on resume.
 */
export class BatchSampler {
  private cachedEpoch = -1;
  private cachedOrder: number[] = [];

  /**
   * @param size - number of sequences.
   * @param batchSize - sequences per batch; the last batch of an epoch may be smaller.
   * @param seed - shuffle seed.
   * @param shuffle - false keeps the dataset order.
   */
  constructor(
    readonly size: number,
    readonly batchSize: number,
    readonly seed: number,
    readonly shuffle = true,
  ) {}

  /** Batches per epoch. */
  get batchesPerEpoch(): number {
    return Math.ceil(this.size / this.batchSize);
  }

  /** The sequence indices of the batch at `position`. */
  batch(position: DataPosition): number[] {
    if (this.cachedEpoch !== position.epoch) {
      this.cachedOrder = this.shuffle
        ? new SeededRandom((this.seed * 1_000_003 + position.epoch) >>> 0).permutation(this.size)
        : Array.from({ length: this.size }, (_, index) => index);
      this.cachedEpoch = position.epoch;
    }
    const start = position.batch * this.batchSize;
    return this.cachedOrder.slice(start, start + this.batchSize);
  }

  /** The position after `position`. */
  next(position: DataPosition): DataPosition {
    return position.batch + 1 >= this.batchesPerEpoch
      ? { epoch: position.epoch + 1, batch: 0 }
      : { epoch: position.epoch, batch: position.batch + 1 };
  }
}
