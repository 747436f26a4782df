import { IGNORE_INDEX, type TokenSequence } from './prepare-sequences.js';

/** A padded batch, row-major `[batchSize, length]`, as the training graph takes it. */
export interface Batch {
  batchSize: number;
  length: number;
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  /** Labels aligned with `inputIds` ({@link IGNORE_INDEX} on padding and masked positions). */
  labels: BigInt64Array;
  /** Class ids `[batchSize]` when the sequences are classification examples (fed as `labels`). */
  classLabels?: BigInt64Array;
  /** Positions that carry a label, after the one-token shift a causal LM applies. */
  trainedTokens: number;
  /** DPO: the number of pairs; rows are the chosen sequences, then their rejected ones. */
  pairs?: number;
}

/**
 * Pads sequences (right side) to the longest of them, or to `padTo` when given, with
 * `padId`; padding has attention 0 and label {@link IGNORE_INDEX}. Preference pairs (sequences with
 * `rejected`) become 2B rows: the chosen sequences, then the rejected ones.
 */
export function collateBatch(sequences: readonly TokenSequence[], padId: number, padTo?: number): Batch {
  if (sequences[0]?.rejected) {
    // Preference pairs: B chosen rows, then the B rejected rows in the same order.
    const rows = [
      ...sequences.map(({ inputIds, labels }) => ({ inputIds, labels })),
      ...sequences.map((sequence) => sequence.rejected as TokenSequence),
    ];
    return { ...collateBatch(rows, padId, padTo), pairs: sequences.length };
  }
  const length = padTo ?? Math.max(...sequences.map((sequence) => sequence.inputIds.length));
  const batchSize = sequences.length;
  const inputIds = new BigInt64Array(batchSize * length).fill(BigInt(padId));
  const attentionMask = new BigInt64Array(batchSize * length);
  const labels = new BigInt64Array(batchSize * length).fill(BigInt(IGNORE_INDEX));
  let trainedTokens = 0;
  sequences.forEach((sequence, row) => {
    const offset = row * length;
    const count = Math.min(length, sequence.inputIds.length);
    for (let i = 0; i < count; i++) {
      inputIds[offset + i] = BigInt(sequence.inputIds[i] as number);
      attentionMask[offset + i] = 1n;
      const label = sequence.labels[i] ?? IGNORE_INDEX;
      labels[offset + i] = BigInt(label);
      if (i > 0 && label !== IGNORE_INDEX) trainedTokens += 1;
    }
  });
  if (sequences[0]?.classLabel !== undefined) {
    // Classification: one label per sequence, every example counts once.
    const classLabels = BigInt64Array.from(
      sequences.map((sequence) => BigInt(sequence.classLabel ?? IGNORE_INDEX)),
    );
    const counted = sequences.filter(
      (sequence) => (sequence.classLabel ?? IGNORE_INDEX) !== IGNORE_INDEX,
    ).length;
    return { batchSize, length, inputIds, attentionMask, labels, classLabels, trainedTokens: counted };
  }
  return { batchSize, length, inputIds, attentionMask, labels, trainedTokens };
}
