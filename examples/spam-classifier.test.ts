import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors } from '@tunekit/trainer';
import { afterAll, describe, expect, it } from 'vitest';
import { runExample } from './spam-classifier.js';

const directories: string[] = [];
afterAll(async () => {
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

describe('examples/spam-classifier (short run)', () => {
  it('a BERT from scratch beats the majority baseline on held-out SpamAssassin emails', async () => {
    const out = await mkdtemp(join(tmpdir(), 'tunekit-spam-test-'));
    directories.push(out);
    const lines: string[] = [];
    const report = await runExample({ short: true, out, threads: 2, log: (line) => lines.push(line) });
    expect(report.testExamples).toBe(300);
    expect(report.majorityBaseline).toBeGreaterThan(0.6);
    // Clearly above always answering "ham".
    expect(report.accuracy).toBeGreaterThan(report.majorityBaseline + 0.1);
    expect(report.spamF1).toBeGreaterThan(0.7);
    expect(report.predictions.map((prediction) => prediction.label)).toEqual(['ham', 'spam']);
    expect(lines.some((line) => line.startsWith('held-out accuracy'))).toBe(true);
    // The adapter is PEFT's: LoRA on query/value plus the classifier head (modules_to_save).
    const config = JSON.parse(await readFile(join(report.adapterDirectory, 'adapter_config.json'), 'utf8'));
    expect(config).toMatchObject({
      task_type: 'SEQ_CLS',
      modules_to_save: ['classifier'],
      target_modules: ['query', 'value'],
    });
    const tensors = await readSafetensors(join(report.adapterDirectory, 'adapter_model.safetensors'));
    expect([...tensors.keys()]).toEqual(
      expect.arrayContaining([
        'base_model.model.classifier.weight',
        'base_model.model.classifier.bias',
        'base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight',
        'base_model.model.bert.encoder.layer.1.attention.self.value.lora_B.weight',
      ]),
    );
  }, 120_000);
});
