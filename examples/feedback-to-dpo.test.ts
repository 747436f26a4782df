import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runFeedbackToDpo } from './feedback-to-dpo.js';

const directories: string[] = [];
afterAll(async () => {
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

describe('examples/feedback-to-dpo (short run)', () => {
  it('corrections exported as preference pairs make DPO prefer the polite answers', async () => {
    const out = await mkdtemp(join(tmpdir(), 'tunekit-feedback-dpo-test-'));
    directories.push(out);
    const lines: string[] = [];
    const report = await runFeedbackToDpo({ short: true, out, threads: 1, log: (line) => lines.push(line) });
    expect(report.preferencePairs).toBe(12);
    // DPO starts where the policy equals the reference (the fine-tuned model): loss ln 2.
    expect(report.dpo.firstLoss).toBeCloseTo(Math.LN2, 5);
    expect(report.dpo.lastLoss).toBeLessThan(report.dpo.firstLoss - 0.1);
    // Held-out requests (never trained on with DPO): the corrected answer gains reward.
    expect(report.dpo.rewardAccuracy).toBe(1);
    expect(report.dpo.rewardMargin).toBeGreaterThan(0);
    expect(report.politeAfter).toBeGreaterThan(report.politeBefore);
    expect(lines.some((line) => line.startsWith('polite answers to held-out requests'))).toBe(true);
  });
});
