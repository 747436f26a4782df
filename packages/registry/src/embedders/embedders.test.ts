import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TunekitError } from '@tunekit/core';
import { describe, expect, it } from 'vitest';
import { createHashingEmbedder, tokenizeWords } from './hashing-embedder.js';
import { createTransformersEmbedder } from './transformers-embedder.js';

const cosine = (left: Float32Array, right: Float32Array) =>
  left.reduce((sum, value, index) => sum + value * (right[index] as number), 0);

describe('createHashingEmbedder', () => {
  it('is deterministic, L2-normalized and of the configured size', async () => {
    const embedder = createHashingEmbedder({ dimensions: 128 });
    const [first, again, empty] = await embedder.embed([
      'LoRA adapter for GPT-2',
      'LoRA adapter for GPT-2',
      '',
    ]);
    expect(first).toHaveLength(128);
    expect(Array.from(first as Float32Array)).toEqual(Array.from(again as Float32Array));
    expect(cosine(first as Float32Array, first as Float32Array)).toBeCloseTo(1, 5);
    expect(Array.from(empty as Float32Array).every((value) => value === 0)).toBe(true);
    // A fixed value, so that a change of the hashing (which silently invalidates stored indexes) fails here.
    const nonZero = Array.from(first as Float32Array)
      .map((value, index) => `${index}:${value.toFixed(4)}`)
      .filter((entry) => !entry.endsWith(':0.0000') && !entry.endsWith(':-0.0000'));
    expect(nonZero.slice(0, 4)).toMatchInlineSnapshot(`
      [
        "2:0.3926",
        "7:-0.0445",
        "13:-0.0680",
        "15:0.0445",
      ]
    `);
  });

  it('puts texts that share words and word pieces closer than unrelated texts', async () => {
    const embedder = createHashingEmbedder();
    const [query, related, morphological, unrelated] = await embedder.embed([
      'Japanese sentiment classifier for product reviews',
      'sentiment classifier trained on Japanese reviews',
      'classification of sentiments',
      'German contract summarization',
    ]);
    const [, , sentimentWord] = await embedder.embed(['x', 'y', 'sentiment classifier']);
    expect(cosine(query as Float32Array, related as Float32Array)).toBeGreaterThan(0.5);
    expect(cosine(query as Float32Array, unrelated as Float32Array)).toBeLessThan(0.2);
    expect(cosine(sentimentWord as Float32Array, morphological as Float32Array)).toBeGreaterThan(
      cosine(sentimentWord as Float32Array, unrelated as Float32Array),
    );
  });

  it('tokenizes words in any script and rejects bad sizes', () => {
    expect(tokenizeWords('Ｔｏｎｅ-JA: 丁寧な返信 v2')).toEqual(['tone', 'ja', '丁寧な返信', 'v2']);
    expect(() => createHashingEmbedder({ dimensions: 1 })).toThrow(/dimensions/);
  });
});

describe('createTransformersEmbedder', () => {
  it('refuses with EMBEDDER_UNAVAILABLE when the model folder or its config.json is missing', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'tunekit-embedder-'));
    try {
      for (const modelPath of [join(folder, 'missing-model'), folder]) {
        const error = await createTransformersEmbedder({ modelPath }).catch((caught: unknown) => caught);
        expect(TunekitError.isInstance(error)).toBe(true);
        expect((error as TunekitError).code).toBe('EMBEDDER_UNAVAILABLE');
        expect((error as TunekitError).message).toContain(modelPath);
      }
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
