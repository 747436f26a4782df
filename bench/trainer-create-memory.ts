/**
 * Frozen weights held once through `createTrainer`: peak resident memory of a qwen2.5-0.5b-shaped
 * LoRA run (random weights, r 16 on all seven projections, one micro-batch of 1 × 512 tokens)
 * through `createTrainer` + `train`, next to the presets bench's own loop on the same folder
 * (`bench/trainer-presets.ts measure`, which drops every JavaScript copy it can). Each in its own
 * process, so each peak RSS is its own; the model folder is written by a third one.
 *
 *   npx tsx bench/trainer-create-memory.ts            # BENCH_PRESET=smollm2-135m for the smaller one
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const preset = process.env.BENCH_PRESET ?? 'qwen2.5-0.5b';
const SEQUENCE = 512;

async function measureCreateTrainer(directory: string): Promise<void> {
  const { createTrainer } = await import('@tunekit/trainer');
  const rss = () => Math.round(process.memoryUsage().rss / 2 ** 20);
  const marks: Record<string, number> = { rss_start_mb: rss() };
  const trainer = await createTrainer({
    model: directory,
    lora: {
      r: 16,
      alpha: 32,
      targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
    },
    threads: 2,
  });
  marks.rss_created_mb = rss();
  // Byte-level text long enough for one full 512-token sequence.
  const words = ['the', 'whale', 'sea', 'ship', 'captain', 'white', 'harpoon', 'deep', 'night'];
  const text = Array.from({ length: 200 }, (_, index) => words[(index * 7) % words.length]).join(' ');
  const started = performance.now();
  const result = await trainer.train([{ text }], {
    maxSteps: 1,
    batchSize: 1,
    maxLength: SEQUENCE,
    learningRate: 1e-4,
    shuffle: false,
  });
  marks.first_step_s = Math.round((performance.now() - started) / 10) / 100;
  marks.rss_after_step_mb = rss();
  await trainer.close();
  console.log(
    JSON.stringify({
      impl: 'createTrainer',
      loss: result.lossHistory.at(-1),
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
      ...marks,
    }),
  );
}

function child(args: string[], env: Record<string, string> = {}): string {
  return execFileSync(process.execPath, ['--import', 'tsx', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
    maxBuffer: 1 << 24,
  });
}

const [mode, folder] = process.argv.slice(2);
if (mode === 'create-trainer') {
  await measureCreateTrainer(folder as string);
} else {
  const directory = mkdtempSync(join(tmpdir(), `tunekit-create-memory-${preset}-`));
  try {
    child([join(here, 'trainer-presets.ts'), 'setup', preset, directory]);
    const ours = child([fileURLToPath(import.meta.url), 'create-trainer', directory]);
    const line = (output: string) =>
      output
        .trim()
        .split('\n')
        .filter((candidate) => candidate.startsWith('{'))
        .at(-1) ?? '{}';
    const bench = child([join(here, 'trainer-presets.ts'), 'measure', preset, directory], {
      BENCH_MICRO_BATCHES: '1',
      BENCH_THREADS: '2',
    });
    console.log(
      JSON.stringify({
        figure: 'trainer-create-memory',
        preset,
        create_trainer: JSON.parse(line(ours)),
        presets_bench: JSON.parse(line(bench)),
      }),
    );
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
