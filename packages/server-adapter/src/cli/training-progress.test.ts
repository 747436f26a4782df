import { describe, expect, it } from 'vitest';
import { captureCliContext } from './testing/capture-cli-context.js';
import { createProgressReporter, formatDuration } from './training-progress.js';

const step = (value: number) => ({
  type: 'step' as const,
  jobId: 'job-1',
  step: value,
  totalSteps: 10,
  loss: 2 - value / 10,
  learningRate: 0.001,
  tokensPerSecond: 1234.4,
});

describe('training progress', () => {
  it('redraws one bar line with step/total, loss, lr, tokens/s, ETA and the last eval loss', () => {
    const context = captureCliContext('.', { isTTY: true });
    let now = 0;
    const reporter = createProgressReporter('bar', context.stdout, () => now);
    reporter.report(step(1));
    now = 2000;
    reporter.report(step(2));
    reporter.report({
      type: 'evaluated',
      jobId: 'job-1',
      step: 2,
      metrics: { validationLoss: 1.5, perplexity: 4.48 },
    });
    now = 4000;
    reporter.report(step(3));
    reporter.close();
    const output = context.output();
    const frames = output.split('\r\x1b[2K').filter((frame) => frame.length > 0);
    expect(frames[0]).toMatch(/^step 1\/10 \[#{3}-+\] {2}10% loss 1\.9000 {2}lr 1\.00e-3 {2}1234 tok\/s$/);
    // Two seconds per step, eight steps left.
    expect(frames[1]).toContain('ETA 0:16');
    expect(frames[2]).toBe('step 2 evaluation: validationLoss 1.5000  perplexity 4.4800\n');
    expect(frames[3]).toMatch(/^step 3\/10 \[#+-+\] {2}30% .*ETA 0:14 {2}eval 1\.5000\n$/);
  });

  it('prints plain lines without a terminal and JSON objects with --json', () => {
    const plain = captureCliContext('.');
    const lines = createProgressReporter('lines', plain.stdout, () => 0);
    lines.report(step(1));
    lines.report({ type: 'finished', jobId: 'job-1', status: 'interrupted' });
    expect(plain.output()).toBe(
      'step 1/10  loss 1.9000  lr 1.00e-3  1234 tok/s\n' +
        'job job-1 interrupted; its checkpoint is kept: `tunekit train --resume job-1` continues it\n',
    );
    const json = captureCliContext('.');
    createProgressReporter('json', json.stdout).report(step(4));
    expect(JSON.parse(json.output())).toEqual(step(4));
    expect(formatDuration(3725)).toBe('1:02:05');
  });
});
