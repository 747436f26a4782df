import { register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createTestBus } from '../trackers/test-servers/test-event-bus.js';
import { createTunekitMetrics } from './tunekit-metrics.js';

/** The value of one sample line, e.g. `task_success_total{kind="train"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('kit metrics', () => {
  it('exposes the seed metric names, fed by job and training events', async () => {
    const events = createTestBus();
    const metrics = createTunekitMetrics({ events, durationBuckets: [1, 10, 100] });
    for (const jobId of ['a', 'b', 'c']) events.emit('job:queued', { jobId, kind: 'train' });
    events.emit('job:queued', { jobId: 'd', kind: 'evaluate' });
    events.emit('job:started', { jobId: 'a', kind: 'train', attempt: 1 });
    events.emit('job:started', { jobId: 'b', kind: 'train', attempt: 1 });
    events.emit('job:succeeded', { jobId: 'a', kind: 'train', durationMs: 5_000 });
    events.emit('job:retrying', { jobId: 'b', kind: 'train', attempt: 1, delayMs: 10, error: 'x' });
    events.emit('job:started', { jobId: 'b', kind: 'train', attempt: 2 });
    events.emit('job:failed', { jobId: 'b', kind: 'train', durationMs: 50_000, error: 'boom' });
    events.emit('job:cancelled', { jobId: 'c', kind: 'train' });
    events.emit('training:step', {
      jobId: 'a',
      step: 10,
      epoch: 0,
      loss: 1.25,
      learningRate: 0.001,
      tokensPerSecond: 4321,
    });
    events.emit('training:evaluated', { jobId: 'a', step: 10, metrics: { validation_loss: 1.5 } });

    const text = await metrics.text();
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(text).toContain('# TYPE task_success_total counter');
    expect(text).toContain('# TYPE task_duration_seconds histogram');
    expect(text).toContain('# TYPE task_queue_length gauge');
    expect(sample(text, 'task_success_total{kind="train"}')).toBe(1);
    expect(sample(text, 'task_failure_total{kind="train"}')).toBe(1);
    expect(sample(text, 'task_cancelled_total{kind="train"}')).toBe(1);
    expect(sample(text, 'task_retry_total{kind="train"}')).toBe(1);
    expect(sample(text, 'task_queue_length')).toBe(1); // only "d" still waits
    expect(sample(text, 'task_duration_seconds_bucket{le="10",kind="train",outcome="success"}')).toBe(1);
    expect(sample(text, 'task_duration_seconds_bucket{le="10",kind="train",outcome="failure"}')).toBe(0);
    expect(sample(text, 'task_duration_seconds_bucket{le="100",kind="train",outcome="failure"}')).toBe(1);
    expect(sample(text, 'task_duration_seconds_sum{kind="train",outcome="failure"}')).toBe(50);
    expect(sample(text, 'task_duration_seconds_count{kind="train",outcome="success"}')).toBe(1);
    expect(sample(text, 'training_loss{job="a"}')).toBe(1.25);
    expect(sample(text, 'training_tokens_per_second{job="a"}')).toBe(4321);
    expect(sample(text, 'training_learning_rate{job="a"}')).toBe(0.001);
    expect(sample(text, 'training_step{job="a"}')).toBe(10);
    expect(sample(text, 'training_evaluation_metric{job="a",metric="validation_loss"}')).toBe(1.5);
    const cpu = sample(text, 'system_cpu_percent');
    expect(cpu).toBeGreaterThanOrEqual(0);
    expect(cpu).toBeLessThanOrEqual(100);
    const memory = sample(text, 'system_memory_usage_gigabytes');
    expect(memory).toBeGreaterThan(0);
    expect(memory).toBeLessThan(10_000);
    // Never the global registry: two kits do not collide and prom-client's default stays empty.
    const other = createTunekitMetrics();
    expect(sample(await other.text(), 'task_queue_length')).toBe(0);
    expect(await globalRegistry.metrics()).not.toContain('task_success_total');
    metrics.close();
    other.close();
  });

  it('keeps the gauges of the last finished training jobs only', async () => {
    const events = createTestBus();
    const metrics = createTunekitMetrics({ events, retainFinishedTrainingJobs: 1 });
    for (const jobId of ['first', 'second']) {
      events.emit('training:step', { jobId, step: 1, epoch: 0, loss: 2, learningRate: 0.1 });
      events.emit('training:evaluated', { jobId, step: 1, metrics: { accuracy: 0.5 } });
      events.emit('training:finished', { jobId, status: 'succeeded' });
    }
    const text = await metrics.text();
    expect(sample(text, 'training_loss{job="first"}')).toBeUndefined();
    expect(sample(text, 'training_evaluation_metric{job="first",metric="accuracy"}')).toBeUndefined();
    expect(sample(text, 'training_loss{job="second"}')).toBe(2);
    metrics.close();
    expect(await metrics.text()).toBe('\n');
  });

  it('adds default labels and the default Node.js metrics on request', async () => {
    const metrics = createTunekitMetrics({ defaultMetrics: true, defaultLabels: { instance: 'w1' } });
    const text = await metrics.text();
    expect(text).toContain('process_cpu_user_seconds_total{instance="w1"}');
    expect(text).toContain('task_queue_length{instance="w1"} 0');
    metrics.close();
  });
});
