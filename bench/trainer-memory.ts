/**
 * Trainer memory: peak resident memory and time to first optimizer step of the README's tiny GPT-2
 * (n_layer 2, n_embd 64, n_head 2) with GPT-2's 50,257-token vocabulary, LoRA r 8 through
 * `createTrainer` with the default batch (8 × 1,024 packed tokens). Each case runs in its own child
 * process so that its peak RSS (`process.resourceUsage().maxRSS`) is its own. One JSON line per case.
 *
 *   npx tsx bench/trainer-memory.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CASES = {
  'readme-tiny-vocab50k': { n_layer: 2, n_embd: 64, n_head: 2, vocab_size: 50257 },
} as const;
type CaseName = keyof typeof CASES;

async function child(name: CaseName): Promise<void> {
  const { createModel, createTrainer } = await import('@tunekit/trainer');
  const directory = mkdtempSync(join(tmpdir(), 'tunekit-memory-'));
  try {
    const started = performance.now();
    await createModel({ architecture: 'gpt2', directory, ...CASES[name] });
    const created = performance.now();
    const trainer = await createTrainer({ model: directory, lora: { r: 8, alpha: 16 } });
    const words = ['the', 'whale', 'sea', 'ship', 'captain', 'ahab', 'white', 'harpoon', 'deep', 'night'];
    let seed = 1;
    const text = Array.from({ length: 40 }, () =>
      Array.from({ length: 400 }, () => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return words[seed % words.length];
      }).join(' '),
    ).map((line) => ({ text: line }));
    const rssBefore = process.memoryUsage().rss;
    const trainStarted = performance.now();
    let firstStep = Number.NaN;
    await trainer.train(text, {
      maxSteps: 2,
      onProgress: () => {
        if (Number.isNaN(firstStep)) firstStep = performance.now();
      },
    });
    const ended = performance.now();
    await trainer.close();
    console.log(
      JSON.stringify({
        figure: 'trainer-memory',
        case: name,
        ...CASES[name],
        create_model_s: round((created - started) / 1000),
        first_step_s: round((firstStep - created) / 1000),
        second_step_s: round((ended - firstStep) / 1000),
        rss_before_train_mb: Math.round(rssBefore / 2 ** 20),
        peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
        train_started_s: round((trainStarted - created) / 1000),
      }),
    );
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

const requested = process.argv[2] as CaseName | undefined;
if (requested) {
  await child(requested);
} else {
  for (const name of Object.keys(CASES) as CaseName[]) {
    const output = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), name], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    process.stdout.write(output);
  }
}
