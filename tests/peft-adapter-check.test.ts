import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModel, createTrainer } from '@tunekit/trainer';
import { afterAll, describe, expect, it } from 'vitest';

const checker = join(import.meta.dirname, 'golden', 'peft_adapter_check.py');

/** Debian's python3 with torch, when installed (CI has none: these checks then do not run). */
function pythonWithTorch(): string | undefined {
  for (const python of ['/usr/bin/python3']) {
    if (!existsSync(python)) continue;
    try {
      execFileSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
      return python;
    } catch {}
  }
  return undefined;
}

const python = pythonWithTorch();
const directories: string[] = [];
afterAll(async () => {
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

describe.skipIf(!python)('tests/golden/peft_adapter_check.py (needs /usr/bin/python3 with torch)', () => {
  it('accepts a correct rsLoRA merge and rejects rsLoRA scaled by alpha/r or alpha_pattern ignored', () => {
    const output = execFileSync(python as string, [checker, '--self-test']).toString();
    expect(JSON.parse(output)).toEqual({
      ok: true,
      results: { correct: true, 'rslora-scaled-by-alpha-over-r': false, 'alpha-pattern-ignored': false },
    });
  });

  it("accepts Tunekit's rsLoRA adapter with rank/alpha patterns on Llama and its merge", async () => {
    const root = await mkdtemp(join(tmpdir(), 'tunekit-peft-check-'));
    directories.push(root);
    await createModel({
      architecture: 'llama',
      directory: join(root, 'base'),
      vocab_size: 260,
      hidden_size: 16,
      intermediate_size: 32,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      num_key_value_heads: 1,
      max_position_embeddings: 64,
    });
    const trainer = await createTrainer({
      model: join(root, 'base'),
      lora: {
        r: 4,
        alpha: 8,
        rsLora: true,
        targetModules: ['q_proj', 'v_proj'],
        rankPattern: { 'layers.1.self_attn.q_proj': 2 },
        alphaPattern: { v_proj: 32 },
      },
      threads: 1,
    });
    const rows = Array.from({ length: 8 }, (_, index) => ({ text: `a stitch in time ${index}` }));
    await trainer.train(rows, { maxSteps: 2, batchSize: 4, maxLength: 16, learningRate: 5e-2 });
    await trainer.saveAdapter(join(root, 'adapter'));
    await trainer.saveMerged(join(root, 'merged'));
    await trainer.close();
    const output = execFileSync(python as string, [
      checker,
      join(root, 'adapter'),
      join(root, 'base'),
      join(root, 'merged'),
    ]).toString();
    const check = JSON.parse(output) as { ok: boolean; modules: number; errors: string[] };
    expect(check.errors).toEqual([]);
    expect(check.modules).toBe(4);
  }, 60_000);
});
