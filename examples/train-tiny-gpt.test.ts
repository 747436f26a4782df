import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runExample } from './train-tiny-gpt.js';

const directories: string[] = [];
afterAll(async () => {
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

/** /usr/bin/python3 with torch, when this machine has it (Debian's python3-torch). */
function pythonWithTorch(): string | undefined {
  const python = '/usr/bin/python3';
  if (!existsSync(python)) return undefined;
  try {
    execFileSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
    return python;
  } catch {
    return undefined;
  }
}

describe('examples/train-tiny-gpt (short run)', () => {
  it('trains from scratch and with LoRA: validation perplexity falls in both phases', async () => {
    const out = await mkdtemp(join(tmpdir(), 'tunekit-example-'));
    directories.push(out);
    const lines: string[] = [];
    const report = await runExample({ short: true, out, threads: 2, log: (line) => lines.push(line) });
    expect(report.pretrain.perplexityAfter).toBeLessThan(report.pretrain.perplexityBefore * 0.5);
    expect(report.lora.perplexityAfter).toBeLessThan(report.lora.perplexityBefore);
    expect(report.generations.base.length).toBeGreaterThan(0);
    expect(lines.some((line) => line.startsWith('Moby Dick validation perplexity:'))).toBe(true);
    const adapterConfig = JSON.parse(await readFile(join(out, 'adapter', 'adapter_config.json'), 'utf8'));
    expect(adapterConfig).toMatchObject({ peft_type: 'LORA', r: 8, fan_in_fan_out: true });

    // The adapter and the merged model follow PEFT's format and merge rule (checked with torch).
    const python = pythonWithTorch();
    if (python) {
      const output = execFileSync(python, [
        join(import.meta.dirname, '../tests/golden/peft_adapter_check.py'),
        join(out, 'adapter'),
        join(out, 'pretrained'),
        join(out, 'merged'),
      ]).toString();
      const check = JSON.parse(output) as { ok: boolean; modules: number; errors: string[] };
      expect(check.errors).toEqual([]);
      // 2 layers × (attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj)
      expect(check.modules).toBe(8);
    }
  }, 120_000);
});
