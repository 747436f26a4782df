import { SeededRandom } from '@tunekit/core/statistics';
import { describe, expect, it } from 'vitest';
import { createDeviceSession } from '../backends/create-device-session.js';
import { loadOnnxRuntime } from '../backends/onnxruntime-backend.js';
import { bigramInferenceGraph } from '../testing/bigram-graphs.js';
import { createByteLevelTokenizer } from '../tokenizers/byte-level-tokenizer.js';
import { sampleToken } from './sample-token.js';
import { TextGenerator } from './text-generator.js';

const tokenizer = createByteLevelTokenizer();
const VOCAB = tokenizer.vocabSize;

/** Greedy successor: each byte is followed by the next byte, except 'f' which ends the text. */
async function makeGenerator(maxPositions = 64) {
  const weights = new Float32Array(VOCAB * VOCAB);
  for (let token = 0; token < VOCAB; token++) {
    weights[token * VOCAB + ((token + 1) % 256)] = 5;
    weights[token * VOCAB + ((token + 2) % 256)] = 4;
  }
  weights['f'.charCodeAt(0) * VOCAB + 256] = 10;
  const { session } = await createDeviceSession(bigramInferenceGraph(VOCAB, weights), {
    device: 'cpu',
    threads: 1,
  });
  return new TextGenerator({
    ort: await loadOnnxRuntime(),
    session,
    graph: { layers: 1, heads: 1, headSize: 1 },
    tokenizer,
    maxPositions,
  });
}

describe('TextGenerator', () => {
  it('generates greedily until the end-of-sequence token', async () => {
    const generator = await makeGenerator();
    expect(await generator.generate('a', { temperature: 0 })).toEqual({
      text: 'bcdef',
      tokensGenerated: 6,
      finishReason: 'stop',
    });
  });

  it('stops at maxTokens, at a stop string, and at the model positions', async () => {
    const generator = await makeGenerator(8);
    expect(await generator.generate('A', { temperature: 0, maxTokens: 3 })).toEqual({
      text: 'BCD',
      tokensGenerated: 3,
      finishReason: 'length',
    });
    expect(await generator.generate('A', { temperature: 0, stop: ['DE'] })).toMatchObject({
      text: 'BC',
      finishReason: 'stop',
    });
    const limited = await generator.generate('ABCDE', { temperature: 0, maxTokens: 50 });
    expect(limited.finishReason).toBe('length');
    expect(limited).toEqual({ text: 'FGH', tokensGenerated: 3, finishReason: 'length' });
  });

  it('gives the same text with and without the KV cache, and streams it in pieces', async () => {
    const generator = await makeGenerator();
    const options = { temperature: 0.8, seed: 3, maxTokens: 12 };
    const cached = await generator.generate('k', options);
    const recomputed = await generator.generate('k', { ...options, kvCache: false });
    expect(recomputed).toEqual(cached);
    let streamed = '';
    let last: string | undefined;
    for await (const chunk of generator.stream('k', options)) {
      streamed += chunk.text;
      last = chunk.finishReason;
    }
    expect(streamed).toBe(cached.text);
    expect(last).toBe(cached.finishReason);
  });
});

describe('sampleToken', () => {
  const logits = Float32Array.from([0, 3, 2.5, -1]);
  it('is greedy at temperature 0 and restricted by topK', () => {
    const random = new SeededRandom(1);
    expect(sampleToken(logits, { temperature: 0, topK: 0, topP: 1 }, random)).toBe(1);
    const picks = new Set(
      Array.from({ length: 200 }, () => sampleToken(logits, { temperature: 5, topK: 2, topP: 1 }, random)),
    );
    expect([...picks].sort()).toEqual([1, 2]);
  });

  it('keeps only the nucleus under topP', () => {
    const random = new SeededRandom(2);
    const picks = new Set(
      Array.from({ length: 200 }, () => sampleToken(logits, { temperature: 1, topK: 0, topP: 0.5 }, random)),
    );
    expect([...picks]).toEqual([1]);
  });
});
