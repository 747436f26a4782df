import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSeededRandom } from '@tunekit/core/statistics';
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

  it('loads in place from a file written by writeIndexFile', async () => {
    const vectors = randomVectors(40, 12, 6);
    const index = await createHnswVectorIndex(12);
    vectors.forEach((vector, position) => {
      index.upsert(`v${position}`, vector);
    });
    index.remove('v5');
    const folder = await mkdtemp(join(tmpdir(), 'hnsw-test-'));
    try {
      const path = join(folder, 'index.bin');
      const labels = await index.writeIndexFile(path);
      expect(labels[5]).toBeNull();
      const loaded = await createHnswVectorIndex(12, {}, { path, labels });
      expect(loaded.size).toBe(39);
      expect(loaded.search(vectors[9] as Float32Array, 1)[0]?.id).toBe('v9');
      await expect(createHnswVectorIndex(16, {}, { path, labels })).rejects.toThrow(/12 dimensions/);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('reuses the labels of removed items, so churn does not grow the graph', async () => {
    const vectors = randomVectors(400, 8, 7);
    const index = await createHnswVectorIndex(8, { capacity: 128 });
    for (let position = 0; position < 100; position += 1) {
      index.upsert(`item-${position}`, vectors[position] as Float32Array);
    }
    // 300 more ids arrive while as many old ones leave: the live count stays at 100 (item-300…399).
    for (let position = 100; position < 400; position += 1) {
      index.remove(`item-${position - 100}`);
      index.upsert(`item-${position}`, vectors[position] as Float32Array);
    }
    expect(index.size).toBe(100);
    expect(index.capacity).toBe(128);
    const serialized = await index.serialize();
    expect(serialized.labels).toHaveLength(100);
    expect(serialized.labels.filter((id) => id === null)).toHaveLength(0);
    for (const position of [300, 350, 399]) {
      const hits = index.search(vectors[position] as Float32Array, 1);
      expect(hits[0]).toMatchObject({ id: `item-${position}` });
      expect(hits[0]?.score).toBeCloseTo(1, 5);
    }
    expect(index.has('item-250')).toBe(false);
    const everything = index.search(vectors[0] as Float32Array, 1000).map((hit) => hit.id);
    expect(new Set(everything)).toEqual(new Set(index.ids()));
  });

  it('estimates filter selectivity from a sample instead of testing every item', async () => {
    const vectors = randomVectors(6000, 8, 8);
    const index = await createHnswVectorIndex(8, {
      capacity: 6000,
      efSearch: 32,
      exactFilterLimit: 100,
      filterSampleSize: 256,
    });
    vectors.forEach((vector, position) => {
      index.upsert(`item-${position}`, vector);
    });
    let calls = 0;
    const half = (id: string) => {
      calls += 1;
      return Number(id.slice(5)) % 2 === 0;
    };
    const hits = index.search(vectors[10] as Float32Array, 10, half);
    expect(hits).toHaveLength(10);
    expect(hits.every((hit) => half(hit.id))).toBe(true);
    expect(hits[0]?.id).toBe('item-10');
    // The sample and the graph's visits, far fewer than the 6,000 items a count would test.
    expect(calls).toBeLessThan(3000);
    expect(index.searchCounts).toEqual({ sparse: 0, graph: 1, exact: 0 });
    // A filter matching 30 items (well under the sample's resolution) goes to the exact path.
    const rare = (id: string) => Number(id.slice(5)) % 200 === 0;
    const rareHits = index.search(vectors[10] as Float32Array, 50, rare);
    expect(rareHits).toHaveLength(30);
    expect(rareHits).toEqual(index.searchExact(vectors[10] as Float32Array, 50, rare));
    expect(index.searchCounts.exact).toBe(1);
  });

  it('searches among known matches: few scored exactly without looking at other items, many through the graph', async () => {
    const vectors = randomVectors(6000, 8, 9);
    const index = await createHnswVectorIndex(8, { capacity: 6000, efSearch: 32, exactFilterLimit: 100 });
    vectors.forEach((vector, position) => {
      index.upsert(`item-${position}`, vector);
    });
    index.remove('item-400');
    const query = vectors[10] as Float32Array;
    // 30 matches (one removed, one unknown): exact, equal to brute force over the same set.
    const rare = new Set(Array.from({ length: 30 }, (_, position) => `item-${position * 200}`));
    rare.add('not-indexed');
    const rareHits = index.searchAmong(query, 50, rare);
    expect(rareHits).toEqual(index.searchExact(query, 50, (id) => rare.has(id)));
    expect(rareHits).toHaveLength(29);
    expect(index.searchCounts).toEqual({ sparse: 0, graph: 0, exact: 1 });
    // Half the items: the graph, with only members returned and the nearest member first.
    const half = new Set(index.ids().filter((id) => Number(id.slice(5)) % 2 === 0));
    const hits = index.searchAmong(query, 10, half);
    expect(index.searchCounts).toEqual({ sparse: 0, graph: 1, exact: 1 });
    expect(hits).toHaveLength(10);
    expect(hits.every((hit) => half.has(hit.id))).toBe(true);
    expect(hits[0]?.id).toBe('item-10');
    const exact = new Set(index.searchExact(query, 10, (id) => half.has(id)).map((hit) => hit.id));
    expect(hits.filter((hit) => exact.has(hit.id)).length).toBeGreaterThanOrEqual(9);
    expect(index.searchAmong(query, 10, new Set())).toEqual([]);
  });
});

/** Vectors with `nonZero` random signed values in random dimensions (ties made likely by rounding). */
function sparseVectors(count: number, dimensions: number, nonZero: number, seed: number): Float32Array[] {
  const random = createSeededRandom(seed);
  return Array.from({ length: count }, () => {
    const vector = new Float32Array(dimensions);
    for (let entry = 0; entry < nonZero; entry += 1) {
      vector[Math.floor(random() * dimensions)] = Math.round((random() * 2 - 1) * 4) / 4;
    }
    return vector;
  });
}

describe('createHnswVectorIndex sparse path', () => {
  it('returns exactly what brute force returns, with filters, updates and removals', async () => {
    const dimensions = 64;
    const vectors = sparseVectors(1500, dimensions, 6, 11);
    const index = await createHnswVectorIndex(dimensions, {
      capacity: 64,
      sparseCostFraction: 1,
      sparseMaximumDensity: 0.7,
    });
    vectors.forEach((vector, position) => {
      index.upsert(`item-${position}`, vector);
    });
    const queries = sparseVectors(40, dimensions, 3, 12);
    const compare = (filter?: (id: string) => boolean, k = 10) => {
      for (const query of queries) {
        expect(index.search(query, k, filter)).toEqual(index.searchExact(query, k, filter));
      }
    };
    compare();
    expect(index.sparseEnabled).toBe(true);
    expect(index.searchCounts).toEqual({ sparse: 40, graph: 0, exact: 0 });
    // Updates (new vectors for old ids, so old postings must go), removals, re-added ids.
    const replacements = sparseVectors(300, dimensions, 6, 13);
    replacements.forEach((vector, position) => {
      index.upsert(`item-${position * 5}`, vector);
    });
    for (let removed = 1; removed < 1500; removed += 3) index.remove(`item-${removed}`);
    index.upsert('item-4', vectors[4] as Float32Array);
    index.upsert('item-1', vectors[2] as Float32Array);
    compare();
    compare(undefined, 2000);
    // A selective filter (about 1% match) still gets k hits; a filter matching nothing gets none.
    const selective = (id: string) => Number(id.slice(5)) % 97 === 0;
    compare(selective);
    expect(index.search(queries[0] as Float32Array, 10, selective)).toHaveLength(10);
    expect(index.search(queries[0] as Float32Array, 10, () => false)).toEqual([]);
    compare((id) => id.endsWith('0'), 25);
    expect(index.searchCounts.graph).toBe(0);
    expect(index.sparseBytes()).toBeGreaterThan(0);
  });

  it('takes the graph when the posting lists would cost too much, and for dense vectors', async () => {
    const sparse = await createHnswVectorIndex(64, { sparseCostFraction: 0, sparseMaximumDensity: 0.7 });
    sparseVectors(200, 64, 6, 21).forEach((vector, position) => {
      sparse.upsert(String(position), vector);
    });
    sparse.search(sparseVectors(1, 64, 3, 22)[0] as Float32Array, 5);
    expect(sparse.searchCounts).toEqual({ sparse: 0, graph: 1, exact: 0 });

    const dense = await createHnswVectorIndex(16);
    const vectors = randomVectors(300, 16, 23);
    vectors.forEach((vector, position) => {
      dense.upsert(String(position), vector);
    });
    expect(dense.sparseEnabled).toBe(false);
    expect(dense.search(vectors[3] as Float32Array, 1)[0]?.id).toBe('3');
    expect(dense.searchCounts).toEqual({ sparse: 0, graph: 1, exact: 0 });
    expect(dense.sparseBytes()).toBe(0);

    // Switching off: the same sparse index, forced through the graph.
    const forced = await createHnswVectorIndex(64);
    sparseVectors(200, 64, 6, 24).forEach((vector, position) => {
      forced.upsert(String(position), vector);
    });
    forced.sparseSearch = false;
    forced.search(sparseVectors(1, 64, 3, 25)[0] as Float32Array, 5);
    expect(forced.searchCounts).toEqual({ sparse: 0, graph: 1, exact: 0 });
    // Off by default: sparse vectors build no posting lists unless sparseMaximumDensity is set.
    expect(forced.sparseEnabled).toBe(false);
    expect(forced.sparseBytes()).toBe(0);
  });

  it('drops the posting lists when vectors turn dense and rebuilds them when sparse again', async () => {
    const index = await createHnswVectorIndex(32, { sparseCostFraction: 1, sparseMaximumDensity: 0.7 });
    const sparse = sparseVectors(100, 32, 3, 31);
    sparse.forEach((vector, position) => {
      index.upsert(`s${position}`, vector);
    });
    const query = sparseVectors(1, 32, 2, 32)[0] as Float32Array;
    expect(index.search(query, 5)).toEqual(index.searchExact(query, 5));
    expect(index.sparseBytes()).toBeGreaterThan(0);
    const dense = randomVectors(400, 32, 33);
    dense.forEach((vector, position) => {
      index.upsert(`d${position}`, vector);
    });
    expect(index.sparseEnabled).toBe(false);
    expect(index.sparseBytes()).toBe(0);
    index.search(query, 5);
    expect(index.searchCounts.graph).toBe(1);
    for (let position = 0; position < 400; position += 1) index.remove(`d${position}`);
    expect(index.sparseEnabled).toBe(true);
    expect(index.search(query, 5)).toEqual(index.searchExact(query, 5));
    expect(index.searchCounts.sparse).toBe(2);
  });

  it('rebuilds the posting lists after loading and answers as before', async () => {
    const dimensions = 48;
    const vectors = sparseVectors(400, dimensions, 5, 41);
    const index = await createHnswVectorIndex(dimensions, {
      sparseCostFraction: 1,
      sparseMaximumDensity: 0.7,
    });
    vectors.forEach((vector, position) => {
      index.upsert(`v${position}`, vector);
    });
    index.remove('v7');
    index.upsert('v8', vectors[9] as Float32Array);
    const queries = sparseVectors(20, dimensions, 3, 42);
    const before = queries.map((query) => index.search(query, 10));
    const loaded = await createHnswVectorIndex(
      dimensions,
      { sparseCostFraction: 1, sparseMaximumDensity: 0.7 },
      await index.serialize(),
    );
    expect(loaded.sparseEnabled).toBe(true);
    expect(queries.map((query) => loaded.search(query, 10))).toEqual(before);
    expect(queries.map((query) => loaded.searchExact(query, 10))).toEqual(before);
    expect(loaded.searchCounts.sparse).toBe(20);
    loaded.upsert('v7', vectors[7] as Float32Array);
    for (const query of queries) expect(loaded.search(query, 10)).toEqual(loaded.searchExact(query, 10));
  });
});
