const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * FNV-1a 32-bit hash of a string's UTF-16 code units (as GrowthBook's `hashFnv32a`, which hashes
 * `charCodeAt`), continuing from `state` so that a fixed prefix is hashed once.
 */
export function fnv1a32(text: string, state = FNV_OFFSET_BASIS): number {
  let hash = state;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}

const POWERS_OF_TEN = [1e9, 1e8, 1e7, 1e6, 1e5, 1e4, 1e3, 100, 10, 1] as const;

/** FNV-1a of the decimal digits of a 32-bit unsigned integer (`String(value)`), without building the string. */
function fnv1a32OfDecimal(value: number): number {
  let position = 0;
  while (position < 9 && value < (POWERS_OF_TEN[position] as number)) position += 1;
  let hash = FNV_OFFSET_BASIS;
  let rest = value;
  for (; position < 10; position += 1) {
    const power = POWERS_OF_TEN[position] as number;
    const digit = Math.floor(rest / power);
    rest -= digit * power;
    hash = Math.imul(hash ^ (48 + digit), FNV_PRIME);
  }
  return hash >>> 0;
}

/**
 * GrowthBook's v2 hash as an integer bucket in `[0, 10000)`: `fnv1a(String(fnv1a(seed + unitId)))
 * % 10000`. Divide by 10000 for GrowthBook's value in [0, 1). `seedState` is `fnv1a32(seed)`,
 * computed once per test.
 */
export function hashBucketV2(seedState: number, unitId: string): number {
  return fnv1a32OfDecimal(fnv1a32(unitId, seedState)) % 10_000;
}

/** GrowthBook's v2 `hash(seed, value, 2)` in [0, 1) (4 decimal places of resolution). */
export function growthBookHashV2(seed: string, unitId: string): number {
  return hashBucketV2(fnv1a32(seed), unitId) / 10_000;
}
