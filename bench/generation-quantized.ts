/**
 * Serving from a 4-bit base: model bytes and new tokens per second of cached greedy generation
 * with the KV-cache inference graph on a float32 base and on the int4 base (`quantization: { bits:
 * 4, blockSize: 64 }`, `MatMulNBits`), both with live LoRA adapters (r 8 on all seven projections).
 * A small Llama (vocab 8192, hidden 512, intermediate 1536, 4 layers, 8/4 heads, untied head);
 * 32-token prompt, 64 new tokens, the two sessions alternated `BENCH_ROUNDS` times (default 5),
 * medians; RSS growth around each session's creation (noisy). One JSON line.
 */
import {
  createDeviceSession,
  type InferenceGraph,
  LlamaConfigSchema,
  llamaArchitecture,
  loadOnnxRuntime,
  resolveLoraConfig,
  TextGenerator,
  type Tokenizer,
} from '@tunekit/trainer';

const config = LlamaConfigSchema.parse({
  vocab_size: 8192,
  hidden_size: 512,
  intermediate_size: 1536,
  num_hidden_layers: 4,
  num_attention_heads: 8,
  num_key_value_heads: 4,
  max_position_embeddings: 256,
});
const weights = llamaArchitecture.createRandomWeights(config, 0);
const lora = {
  config: resolveLoraConfig({
    r: 8,
    alpha: 16,
    targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
  }),
  seed: 1,
};
const threads = Number(process.env.BENCH_THREADS ?? 1);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
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
const ort = await loadOnnxRuntime();

const open = async (quantized: boolean) => {
  const started = performance.now();
  const graph: InferenceGraph = llamaArchitecture.buildInferenceGraph({
    config,
    weights,
    lora,
    kvCache: true,
    quantization: quantized ? { bits: 4, blockSize: 64 } : undefined,
  });
  const buildMs = performance.now() - started;
  const rssBefore = process.memoryUsage().rss;
  const { session } = await createDeviceSession(graph.model, { device: 'cpu', threads });
  const rssGrowth = process.memoryUsage().rss - rssBefore;
  const generator = new TextGenerator({ ort, session, graph, tokenizer, maxPositions: 256 });
  return { graph, session, generator, buildMs, rssGrowth, seconds: [] as number[], text: '' };
};
// RSS growth of the first session includes onnxruntime's one-time allocations: BENCH_FIRST=int4 swaps.
const int4First = process.env.BENCH_FIRST === 'int4';
const first = await open(int4First);
const second = await open(!int4First);
const [float, int4] = int4First ? [second, first] : [first, second];
const prompt = Array.from({ length: 32 }, (_, index) => (index * 37) % 8192).join(' ');
const newTokens = 64;
for (const entry of [float, int4]) await entry.generator.generate(prompt, { maxTokens: 4, temperature: 0 });
for (let round = 0; round < rounds; round += 1) {
  for (const entry of round % 2 === 0 ? [float, int4] : [int4, float]) {
    const started = performance.now();
    const result = await entry.generator.generate(prompt, { maxTokens: newTokens, temperature: 0 });
    entry.seconds.push((performance.now() - started) / 1000);
    entry.text = result.text;
  }
}
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const mebibytes = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
const summary = (entry: typeof float) => ({
  model_mib: mebibytes(entry.graph.model.byteLength),
  build_ms: Math.round(entry.buildMs),
  rss_growth_mib: mebibytes(entry.rssGrowth),
  tokens_per_s: Math.round((newTokens / median(entry.seconds)) * 10) / 10,
  tokens_per_s_all: entry.seconds.map((seconds) => Math.round((newTokens / seconds) * 10) / 10),
});
console.log(
  JSON.stringify({
    figure: 'generation-quantized',
    threads,
    prompt_tokens: 32,
    new_tokens: newTokens,
    float32: summary(float),
    int4: summary(int4),
    same_text: float.text === int4.text,
  }),
);
await Promise.all([float.session.release(), int4.session.release()]);
