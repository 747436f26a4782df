import { SeededRandom } from '@tunekit/core/statistics';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import type { OnnxRuntime } from '../backends/onnxruntime-backend.js';
import type { InferenceGraph } from '../models/model-architecture.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import {
  type GenerationChunk,
  type GenerationOptions,
  type GenerationOptionsInput,
  GenerationOptionsSchema,
  type GenerationResult,
} from './generation-options.js';
import { sampleToken } from './sample-token.js';

/** What a {@link TextGenerator} runs on. */
export interface TextGeneratorContext {
  ort: OnnxRuntime;
  /** A session of an inference graph built with `kvCache: true`. */
  session: InferenceSession;
  graph: Pick<InferenceGraph, 'layers' | 'heads' | 'headSize'>;
  tokenizer: Tokenizer;
  /** The model's positions (`n_positions`): prompt + new tokens never exceed it. */
  maxPositions: number;
}

/** How much of `text` can be shown without revealing the start of a stop string or half a character. */
function safeLength(text: string, stops: readonly string[]): number {
  let length = text.length;
  while (length > 0 && text.charCodeAt(length - 1) === 0xfffd) length -= 1;
  for (const stop of stops) {
    for (let size = Math.min(stop.length - 1, text.length); size > 0; size--) {
      if (text.endsWith(stop.slice(0, size))) {
        length = Math.min(length, text.length - size);
        break;
      }
    }
  }
  return length;
}

/**
 * Autoregressive text generation with a KV cache: the prompt runs once, then each step feeds one
 * token and the cached keys/values (`past_key_values.{i}.key|value` → `present.{i}.key|value`).
 */
export class TextGenerator {
  constructor(private readonly context: TextGeneratorContext) {}

  /** Generates a completion of `prompt`. */
  async generate(prompt: string, options: GenerationOptionsInput = {}): Promise<GenerationResult> {
    let text = '';
    let tokensGenerated = 0;
    let finishReason: GenerationResult['finishReason'] = 'length';
    for await (const chunk of this.stream(prompt, options)) {
      text += chunk.text;
      tokensGenerated += 1;
      if (chunk.finishReason) finishReason = chunk.finishReason;
    }
    return { text, tokensGenerated, finishReason };
  }

  /** Streams a completion of `prompt` token by token. */
  async *stream(prompt: string, input: GenerationOptionsInput = {}): AsyncGenerator<GenerationChunk> {
    const options: GenerationOptions = GenerationOptionsSchema.parse(input);
    const { tokenizer, maxPositions } = this.context;
    const eos = tokenizer.specialTokens.eos;
    let promptIds = tokenizer.encode(prompt);
    if (promptIds.length === 0) promptIds = [eos ?? tokenizer.specialTokens.bos ?? 0];
    // A prompt longer than the model's window keeps its end; generation then runs until the window is full.
    const room = Math.max(1, maxPositions - 1);
    if (promptIds.length > room) promptIds = promptIds.slice(promptIds.length - room);
    const random = new SeededRandom(options.seed ?? Math.floor(Math.random() * 2 ** 32));
    const generated: number[] = [];
    let emitted = 0;
    let past: Record<string, Tensor> = this.emptyPast();
    let pastLength = 0;
    let pending = promptIds;
    for (let index = 0; index < options.maxTokens; index++) {
      const logits = options.kvCache
        ? await this.runCached(pending, pastLength, past, (next) => {
            past = next;
          })
        : await this.runFull([...promptIds, ...generated]);
      pastLength += pending.length;
      const token = sampleToken(logits, options, random);
      const atLimit = promptIds.length + generated.length + 1 >= maxPositions;
      if (token === eos) {
        yield { text: '', tokenId: token, finishReason: 'stop' };
        return;
      }
      generated.push(token);
      const text = tokenizer.decode(generated);
      const stopAt = options.stop
        .map((stop) => text.indexOf(stop))
        .filter((position) => position >= 0)
        .sort((a, b) => a - b)[0];
      if (stopAt !== undefined) {
        yield { text: text.slice(emitted, Math.max(emitted, stopAt)), tokenId: token, finishReason: 'stop' };
        return;
      }
      const last = index === options.maxTokens - 1 || atLimit;
      const visible = last ? text.length : safeLength(text, options.stop);
      const chunk = text.slice(emitted, Math.max(emitted, visible));
      emitted = Math.max(emitted, visible);
      yield last ? { text: chunk, tokenId: token, finishReason: 'length' } : { text: chunk, tokenId: token };
      if (last) return;
      pending = [token];
    }
  }

  /**
   * The logits of every position of `tokenIds` in one run (no cache): row `i` (of `vocab` floats)
   * scores the token after `tokenIds[i]`. At most the model's positions.
   */
  async logits(tokenIds: readonly number[]): Promise<{ logits: Float32Array; vocab: number }> {
    const { output } = await this.run([...tokenIds], 0, this.emptyPast());
    const logits = output.logits as Tensor;
    return { logits: logits.data as Float32Array, vocab: logits.dims[2] as number };
  }

  private emptyPast(): Record<string, Tensor> {
    const { ort, graph } = this.context;
    const past: Record<string, Tensor> = {};
    for (let layer = 0; layer < graph.layers; layer++) {
      for (const kind of ['key', 'value']) {
        past[`past_key_values.${layer}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [
          1,
          graph.heads,
          0,
          graph.headSize,
        ]);
      }
    }
    return past;
  }

  private async run(ids: number[], pastLength: number, past: Record<string, Tensor>) {
    const { ort, session } = this.context;
    const total = pastLength + ids.length;
    const feeds: Record<string, Tensor> = {
      ...past,
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
      position_ids: new ort.Tensor(
        'int64',
        BigInt64Array.from(ids, (_, i) => BigInt(pastLength + i)),
        [1, ids.length],
      ),
    };
    const output = await session.run(feeds);
    const logits = output.logits as Tensor;
    const vocab = logits.dims[2] as number;
    const data = logits.data as Float32Array;
    return { output, lastLogits: data.slice((ids.length - 1) * vocab, ids.length * vocab) };
  }

  private async runCached(
    ids: number[],
    pastLength: number,
    past: Record<string, Tensor>,
    keep: (next: Record<string, Tensor>) => void,
  ): Promise<Float32Array> {
    const { output, lastLogits } = await this.run(ids, pastLength, past);
    const next: Record<string, Tensor> = {};
    for (let layer = 0; layer < this.context.graph.layers; layer++) {
      for (const kind of ['key', 'value']) {
        next[`past_key_values.${layer}.${kind}`] = output[`present.${layer}.${kind}`] as Tensor;
      }
    }
    keep(next);
    return lastLogits;
  }

  private async runFull(ids: number[]): Promise<Float32Array> {
    return (await this.run(ids, 0, this.emptyPast())).lastLogits;
  }
}
