/**
 * A small deterministic random generator (mulberry32) whose whole state is one 32-bit integer: the
 * same seed gives the same sequence on every platform (reproducible dataset splits, bootstrap
 * resamples, weight initialisation, batch order), and the state can be stored in a checkpoint and
 * restored exactly. Tunekit's one seeded generator.
 */
export class SeededRandom {
  private value: number;

  /** @param seed - any integer; the same seed gives the same sequence. */
  constructor(seed: number) {
    this.value = seed >>> 0;
  }

  /** The current state (store it to resume the sequence). */
  get state(): number {
    return this.value;
  }

  set state(state: number) {
    this.value = state >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.value = (this.value + 0x6d2b79f5) >>> 0;
    let t = this.value;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, bound). */
  nextInt(bound: number): number {
    return Math.floor(this.next() * bound);
  }

  /** A permutation of 0..length-1 (Fisher–Yates). */
  permutation(length: number): number[] {
    const order = Array.from({ length }, (_, index) => index);
    for (let i = length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const swap = order[i] as number;
      order[i] = order[j] as number;
      order[j] = swap;
    }
    return order;
  }
}

/**
 * The {@link SeededRandom} sequence of `seed` as a function, for code that takes a random source.
 *
 * @returns a function giving floats in [0, 1).
 */
export function createSeededRandom(seed: number): () => number {
  const random = new SeededRandom(seed);
  return () => random.next();
}

/** Shuffles `items` in place (Fisher–Yates) with the given random source. */
export function shuffleInPlace<T>(items: T[], random: () => number): T[] {
  for (let index = items.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    const swap = items[index] as T;
    items[index] = items[other] as T;
    items[other] = swap;
  }
  return items;
}
