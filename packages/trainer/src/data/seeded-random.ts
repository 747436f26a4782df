/**
 * A small deterministic random generator (mulberry32) whose whole state is one 32-bit integer,
 * so it can be stored in a checkpoint and restored exactly.
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
