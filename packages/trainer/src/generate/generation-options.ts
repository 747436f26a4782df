import { z } from 'zod';

/** Sampling options of `generate` and `stream`. */
export const GenerationOptionsSchema = z.object({
  /** Most new tokens to produce. */
  maxTokens: z.number().int().positive().default(64),
  /** Softmax temperature; 0 is greedy (deterministic). */
  temperature: z.number().min(0).default(1),
  /** Nucleus sampling: keep the smallest set of tokens whose probability reaches `topP`. */
  topP: z.number().gt(0).max(1).default(1),
  /** Keep only the `topK` most likely tokens (0: all). */
  topK: z.number().int().min(0).default(0),
  /** Stop when the text contains one of these (the stop string is not returned). */
  stop: z.array(z.string().min(1)).default([]),
  /** Seed of the sampler (same seed, same text). */
  seed: z.number().int().optional(),
  /** Use the KV cache (default). `false` recomputes the whole sequence each token (for comparison). */
  kvCache: z.boolean().default(true),
});

/** Generation options as callers pass them. */
export type GenerationOptionsInput = z.input<typeof GenerationOptionsSchema>;
/** Generation options after defaults. */
export type GenerationOptions = z.output<typeof GenerationOptionsSchema>;

/** The result of `generate`: the text, its token count and why generation stopped. */
export interface GenerationResult {
  text: string;
  tokensGenerated: number;
  /** `stop`: end-of-sequence token or a stop string; `length`: `maxTokens` or the model's positions. */
  finishReason: 'stop' | 'length';
}

/** One piece of a streamed generation. */
export interface GenerationChunk {
  /** New text (may be empty while a multi-byte character or a possible stop string is held back). */
  text: string;
  /** The token id this chunk follows. */
  tokenId: number;
  /** Set on the last chunk. */
  finishReason?: 'stop' | 'length';
}
