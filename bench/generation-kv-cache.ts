/**
 * Generation with and without the KV cache: new tokens per second of greedy decoding on a
 * GPT-2-architecture model (the `cpu-small` sizes: vocab 8192, d 256, 4 layers, 4 heads), with a
 * 96-token prompt and 64 new tokens. Without the cache every token recomputes the whole sequence.
 * One JSON line.
 */
import {
  createDeviceSession,
  Gpt2ConfigSchema,
  gpt2Architecture,
  loadOnnxRuntime,
  TextGenerator,
  type Tokenizer,
} from '@tunekit/trainer';

const config = Gpt2ConfigSchema.parse({
  vocab_size: 8192,
  n_positions: 256,
  n_embd: 256,
  n_layer: 4,
  n_head: 4,
});
const weights = gpt2Architecture.createRandomWeights(config, 0);
const graph = gpt2Architecture.buildInferenceGraph({ config, weights, kvCache: true });
const threads = Number(process.env.BENCH_THREADS ?? 1);
const { session } = await createDeviceSession(graph.model, { device: 'cpu', threads });
/** Ids as text: "12 345 …" (the model is random; only the sequence lengths matter). */
const tokenizer: Tokenizer = {
  name: 'ids',
  vocabSize: 8192,
  specialTokens: {},
  encode: (text) => text.split(' ').map(Number),
  decode: (ids) => ids.join(' '),
  tokenToId: () => undefined,
  save: async () => {},
};
const generator = new TextGenerator({
  ort: await loadOnnxRuntime(),
  session,
  graph,
  tokenizer,
  maxPositions: 256,
});
const prompt = Array.from({ length: 96 }, (_, index) => (index * 37) % 8192).join(' ');
const newTokens = 64;
const time = async (kvCache: boolean) => {
  await generator.generate(prompt, { maxTokens: 4, temperature: 0, kvCache });
  const started = performance.now();
  const result = await generator.generate(prompt, { maxTokens: newTokens, temperature: 0, kvCache });
  return { seconds: (performance.now() - started) / 1000, result };
};
const cached = await time(true);
const recomputed = await time(false);
console.log(
  JSON.stringify({
    figure: 'generation-kv-cache',
    preset: 'cpu-small',
    threads,
    prompt_tokens: 96,
    new_tokens: cached.result.tokensGenerated,
    cached_tokens_per_s: Math.round((cached.result.tokensGenerated / cached.seconds) * 10) / 10,
    recomputed_tokens_per_s: Math.round((recomputed.result.tokensGenerated / recomputed.seconds) * 10) / 10,
    speedup: Math.round((recomputed.seconds / cached.seconds) * 100) / 100,
    same_text: cached.result.text === recomputed.result.text,
  }),
);
await session.release();
