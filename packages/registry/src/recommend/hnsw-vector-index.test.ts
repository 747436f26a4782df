import { createSeededRandom } from '@tunekit/core';
import { describe, expect, it } from 'vitest';
import { createHnswVectorIndex } from './hnsw-vector-index.js';

function randomVectors(count: number, dimensions: number, seed: number): Float32Array[] {
  const random = createSeededRandom(seed);
  return Array.from({ length: count }, () =>
    Float32Array.from({ length: dimensions }, () => random() * 2 - 1),
  );
}

describe('createHnswVectorIndex', () => {
  it('grows past its capacity, updates in place and marks removals deleted', async () => {
    const index = await createHnswVectorIndex(8, { capacity: 16 });
    const vectors = randomVectors(100, 8, 1);
    vectors.forEach((vector, position) => {
      index.upsert(`item-${position}`, vector);
    });
    expect(index.size).toBe(100);
    expect(index.capacity).toBeGreaterThanOrEqual(100);
    expect(index.search(vectors[42] as Float32Array, 1)[0]).toMatchObject({ id: 'item-42' });
    expect(index.search(vectors[42] as Float32Array, 1)[0]?.score).toBeCloseTo(1, 5);
    index.upsert('item-42', vectors[7] as Float32Array);
    expect(index.size).toBe(100);
    expect(
      index
        .search(vectors[7] as Float32Array, 2)
        .map((hit) => hit.id)
        .sort(),
    ).toEqual(['item-42', 'item-7']);
    expect(index.remove('item-7')).toBe(true);
    expect(index.remove('item-7')).toBe(false);
    expect(index.has('item-7')).toBe(false);
    expect(index.search(vectors[7] as Float32Array, 1)[0]?.id).toBe('item-42');
    expect(index.search(vectors[0] as Float32Array, 500)).toHaveLength(99);
    expect(() => index.upsert('short', [1, 2])).toThrow(/8 dimensions/);
  });

  it('returns min(k, matching) hits for selective filters, through the graph and exactly', async () => {
    const vectors = randomVectors(3000, 16, 2);
    for (const exactFilterLimit of [0, 5000]) {
      const index = await createHnswVectorIndex(16, { capacity: 64, efSearch: 16, exactFilterLimit });
      vectors.forEach((vector, position) => {
        index.upsert(`item-${position}`, vector);
      });
      for (let removed = 0; removed < 3000; removed += 7) index.remove(`item-${removed}`);
      // About 1% of the items match.
      const matches = (id: string) => Number(id.slice(5)) % 97 === 0;
      const matching = index.ids().filter(matches).length;
      const hits = index.search(vectors[5] as Float32Array, 10, matches);
      expect(hits).toHaveLength(10);
      expect(hits.every((hit) => matches(hit.id))).toBe(true);
      expect(index.search(vectors[5] as Float32Array, 1000, matches)).toHaveLength(matching);
      const exact = index.searchExact(vectors[5] as Float32Array, 10, matches);
      expect(hits.map((hit) => hit.id)).toEqual(exact.map((hit) => hit.id));
    }
  });

  it('finds the exact nearest neighbours for most queries (recall@10 ≥ 0.95 on random data)', async () => {
    const vectors = randomVectors(2000, 32, 3);
    const index = await createHnswVectorIndex(32, { efSearch: 128 });
    vectors.forEach((vector, position) => {
      index.upsert(String(position), vector);
    });
    const queries = randomVectors(50, 32, 4);
    let found = 0;
    for (const query of queries) {
      const exact = new Set(index.searchExact(query, 10).map((hit) => hit.id));
      found += index.search(query, 10).filter((hit) => exact.has(hit.id)).length;
    }
    expect(found / 500).toBeGreaterThanOrEqual(0.95);
  });

  it('serializes and loads with labels and deletions intact; rejects bytes of other dimensions', async () => {
    const vectors = randomVectors(50, 12, 5);
    const index = await createHnswVectorIndex(12);
    vectors.forEach((vector, position) => {
      index.upsert(`v${position}`, vector);
    });
    index.remove('v3');
    const serialized = await index.serialize();
    expect(serialized.labels[3]).toBeNull();
    const loaded = await createHnswVectorIndex(12, {}, serialized);
    expect(loaded.size).toBe(49);
    expect(loaded.has('v3')).toBe(false);
    expect(loaded.search(vectors[10] as Float32Array, 1)[0]?.id).toBe('v10');
    loaded.upsert('v50', vectors[3] as Float32Array);
    expect(loaded.search(vectors[3] as Float32Array, 1)[0]?.id).toBe('v50');
    await expect(createHnswVectorIndex(24, {}, serialized)).rejects.toThrow(/12 dimensions, expected 24/);
    await expect(
      createHnswVectorIndex(12, {}, { bytes: serialized.bytes.slice(0, 400), labels: serialized.labels }),
    ).rejects.toThrow(/truncated/);
    await expect(
      createHnswVectorIndex(12, {}, { bytes: serialized.bytes, labels: serialized.labels.slice(1) }),
    ).rejects.toThrow(/labels/);
  });
});
