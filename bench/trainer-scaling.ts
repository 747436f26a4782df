/**
 * Scaling curves: peak memory and tokens/s of LoRA training against the sequence length
 * (128–2048, vocabulary 32,000) and the vocabulary size (8k–152k, sequence 512), Tunekit and the
 * PyTorch reference on the same points in the same run, on the `scaling-small` preset of
 * `bench/trainer-presets.ts` (Llama-shaped, 4 layers, d 256, LoRA r 16 on all seven projections,
 * micro-batches of one sequence). `bench/plots/plot-scaling.ts` turns the lines into the SVG plots of
 * docs/performance.md.
 *
 *   BENCH_SCALING=1 npx tsx bench/trainer-scaling.ts > scaling.jsonl
 *   npx tsx bench/plots/plot-scaling.ts scaling.jsonl docs/images
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const sequences = (process.env.BENCH_SCALING_SEQUENCES ?? '128,256,512,1024,2048').split(',').map(Number);
const vocabularies = (process.env.BENCH_SCALING_VOCABULARIES ?? '8192,32000,65536,151936')
  .split(',')
  .map(Number);

function point(axis: 'sequence' | 'vocabulary', sequence: number, vocabulary: number, peak: string): string {
  const output = execFileSync(process.execPath, ['--import', 'tsx', join(here, 'trainer-presets.ts')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      BENCH_LARGE: '1',
      BENCH_PRESETS: 'scaling-small',
      BENCH_SEQUENCE: String(sequence),
      BENCH_VOCAB: String(vocabulary),
      BENCH_MATMUL_PEAK: peak,
      BENCH_MICRO_BATCHES: process.env.BENCH_MICRO_BATCHES ?? '3',
    },
  });
  const lines = output.split('\n').filter((line) => line.startsWith('{'));
  const measured = JSON.parse(lines.find((line) => line.includes('"trainer-presets"')) ?? '{}');
  const matmul = JSON.parse(lines.find((line) => line.includes('"matmul-peak"')) ?? '{}');
  console.log(
    JSON.stringify({ ...measured, figure: 'trainer-scaling', axis, sequence, vocab_size: vocabulary }),
  );
  return String(matmul.gflop_per_s ?? '');
}

if (process.env.BENCH_SCALING === '1') {
  let peak = '';
  for (const sequence of sequences) peak = point('sequence', sequence, 32000, peak);
  for (const vocabulary of vocabularies) peak = point('vocabulary', 512, vocabulary, peak);
}
