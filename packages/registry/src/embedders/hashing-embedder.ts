import { tunekitError } from '@tunekit/core';
import { fnv1a32 } from '@tunekit/core/statistics';
import type { Embedder } from './embedder.js';

/** Options of {@link createHashingEmbedder}. */
export interface HashingEmbedderOptions {
  /** Vector size (default 256). Changing it makes the registry rebuild its index. */
  dimensions?: number;
  /** Embedder name stored with the index (default `hashing`). */
  name?: string;
  /** Include word bigrams (default true). */
  wordBigrams?: boolean;
  /** Character n-gram length inside words, 0 to disable (default 3). */
  characterNgram?: number;
}

const wordPattern = /[\p{L}\p{N}]+/gu;
const WORD_SEED = 0x811c9dc5;
const BIGRAM_SEED = 0x5bd1e995;
const CHARACTER_SEED = 0x27d4eb2d;

/** Lower-cased words (letters and digits in any script). */
export function tokenizeWords(text: string): string[] {
  return text.normalize('NFKC').toLowerCase().match(wordPattern) ?? [];
}

/**
 * A deterministic offline embedder: feature hashing (FNV-1a) of word unigrams, word bigrams and
 * character n-grams of each word (`#word#` padded), with signed buckets (a second hash bit picks the
 * sign, so collisions cancel on average), sub-linear term frequency (`1 + ln tf`), and L2
 * normalization. Nothing is downloaded; the same text always gives the same vector on every machine.
 *
 * Unigrams weigh 1, bigrams 0.5, character n-grams 0.3 each (scaled by the word's n-gram count), so
 * shared words dominate and shared word pieces (`classifier` / `classification`) still count.
 *
 * @example
 * ```ts
 * const embedder = createHashingEmbedder({ dimensions: 256 });
 * const [vector] = await embedder.embed(['Japanese sentiment classifier']);
 * ```
 */
export function createHashingEmbedder(options: HashingEmbedderOptions = {}): Embedder & {
  /** Synchronous variant of `embed` for one text. */
  embedOne(text: string): Float32Array;
} {
  const dimensions = options.dimensions ?? 256;
  if (!Number.isInteger(dimensions) || dimensions < 2 || dimensions > 65_536) {
    throw tunekitError(
      'VALIDATION_FAILED',
      `Invalid hashing embedder dimensions ${String(dimensions)}: expected an integer from 2 to 65536`,
      { dimensions },
    );
  }
  const wordBigrams = options.wordBigrams ?? true;
  const characterNgram = options.characterNgram ?? 3;
  const name = options.name ?? 'hashing';

  const embedOne = (text: string): Float32Array => {
    const counts = new Map<number, number>();
    const add = (hash: number, weight: number) => {
      counts.set(hash, (counts.get(hash) ?? 0) + weight);
    };
    const words = tokenizeWords(text);
    for (let index = 0; index < words.length; index += 1) {
      const word = words[index] as string;
      add(fnv1a32(word, WORD_SEED), 1);
      if (wordBigrams && index + 1 < words.length) {
        add(fnv1a32(`${word} ${words[index + 1]}`, BIGRAM_SEED), 0.5);
      }
      if (characterNgram > 0) {
        const padded = `#${word}#`;
        const pieces = Math.max(1, padded.length - characterNgram + 1);
        const weight = 0.3 / Math.sqrt(pieces);
        for (let start = 0; start + characterNgram <= padded.length; start += 1) {
          add(fnv1a32(padded.slice(start, start + characterNgram), CHARACTER_SEED), weight);
        }
      }
    }
    const vector = new Float32Array(dimensions);
    for (const [hash, weight] of counts) {
      const bucket = hash % dimensions;
      // Bit 31 is independent of `hash % dimensions` for power-of-two sizes up to 2^31.
      const sign = hash & 0x80000000 ? -1 : 1;
      vector[bucket] = (vector[bucket] as number) + sign * (weight >= 1 ? 1 + Math.log(weight) : weight);
    }
    let norm = 0;
    for (const value of vector) norm += value * value;
    if (norm > 0) {
      const scale = 1 / Math.sqrt(norm);
      for (let index = 0; index < dimensions; index += 1) vector[index] = (vector[index] as number) * scale;
    }
    return vector;
  };

  return {
    name,
    dimensions,
    // Hashed words, bigrams and trigrams are a hard case for a graph index (high intrinsic
    // dimension, near-ties within a family; docs/registry.md "Benchmark"): keep the wide search.
    efSearch: 256,
    embedOne,
    async embed(texts: string[]) {
      return texts.map(embedOne);
    },
  };
}
