import { describe, expect, it } from 'vitest';
import type { Embedder } from '../embedders/embedder.js';
import { createHashingEmbedder } from '../embedders/hashing-embedder.js';
import { DEFAULT_EF_SEARCH, hnswParametersFor } from './hnsw-parameters.js';
import { createHnswVectorIndex } from './hnsw-vector-index.js';

describe('hnswParametersFor', () => {
  it('takes efSearch from the parameters, else from the embedder, else leaves the index default', async () => {
    const dense: Embedder = { name: 'dense', dimensions: 8, embed: async () => [] };
    const wide = { ...dense, efSearch: 256 };
    expect(hnswParametersFor({ m: 24, efSearch: 99 }, wide)).toEqual({ m: 24, efSearch: 99 });
    expect(hnswParametersFor({ m: 24 }, wide)).toEqual({ m: 24, efSearch: 256 });
    expect(hnswParametersFor(undefined, dense)).toEqual({});
    expect((await createHnswVectorIndex(8, hnswParametersFor(undefined, dense))).efSearch).toBe(
      DEFAULT_EF_SEARCH,
    );
    // The hashing embedder's vectors need the wide search (docs/registry.md, "Benchmark").
    expect(createHashingEmbedder().efSearch).toBe(256);
    expect((await createHnswVectorIndex(8, hnswParametersFor({}, createHashingEmbedder()))).efSearch).toBe(
      256,
    );
  });
});
