import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLocalTracker } from './local-tracker.js';

describe('local tracker', () => {
  it('writes config, metrics, logs, artifacts and summary per run', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'tunekit-local-'));
    const tracker = createLocalTracker({ directory });
    const run = await tracker.startRun({ experiment: 'sft', name: 'a', tags: { model: 'gpt2' } });
    await run.logParams({ learningRate: 0.001 });
    await run.logMetrics([
      { key: 'loss', value: 2, step: 1, timestamp: 10 },
      { key: 'loss', value: 1, step: 2, timestamp: 20 },
      { key: 'loss', value: 1.5, step: 3, timestamp: 30 },
      { key: 'accuracy', value: 0.7, step: 3, timestamp: 30 },
    ]);
    await run.log([{ level: 'info', message: 'started', timestamp: 5 }]);
    await run.logArtifact('adapter/config.json', new TextEncoder().encode('{}'));
    const source = join(directory, 'source.txt');
    await writeFile(source, 'copy me');
    await run.logArtifact('notes.txt', { path: source });
    await expect(run.logArtifact('../escape.txt', new Uint8Array())).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    await run.end('finished', { steps: 3 });

    const folder = join(directory, run.id);
    expect((await readdir(folder)).sort()).toEqual([
      'artifacts',
      'config.json',
      'logs.jsonl',
      'metrics.jsonl',
      'summary.json',
    ]);
    const config = JSON.parse(await readFile(join(folder, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      experiment: 'sft',
      name: 'a',
      tags: { model: 'gpt2' },
      params: { learningRate: 0.001 },
      status: 'finished',
    });
    const lines = (await readFile(join(folder, 'metrics.jsonl'), 'utf8')).trim().split('\n');
    expect(JSON.parse(lines[0])).toEqual({ key: 'loss', value: 2, step: 1, timestamp: 10 });
    expect(JSON.parse(await readFile(join(folder, 'logs.jsonl'), 'utf8'))).toEqual({
      level: 'info',
      message: 'started',
      timestamp: 5,
    });
    expect(await readFile(join(folder, 'artifacts', 'notes.txt'), 'utf8')).toBe('copy me');
    expect(await readFile(join(folder, 'artifacts', 'adapter', 'config.json'), 'utf8')).toBe('{}');
    const summary = JSON.parse(await readFile(join(folder, 'summary.json'), 'utf8'));
    expect(summary.metrics.loss).toEqual({
      final: 1.5,
      finalStep: 3,
      best: 1,
      bestStep: 2,
      goal: 'min',
      count: 3,
    });
    expect(summary.metrics.accuracy).toMatchObject({ best: 0.7, goal: 'max' });
    expect(summary).toMatchObject({ status: 'finished', values: { steps: 3 } });
  });

  it('lists and compares runs (params diff, final and best metrics)', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'tunekit-local-'));
    const tracker = createLocalTracker({ directory });
    const first = await tracker.startRun({ experiment: 'sft', name: 'first' });
    await first.logParams({ learningRate: 0.001, rank: 8, seed: 1 });
    await first.logMetrics([
      { key: 'loss', value: 1, step: 1 },
      { key: 'loss', value: 0.5, step: 2 },
    ]);
    await first.end('finished');
    const second = await tracker.startRun({ experiment: 'sft', name: 'second' });
    await second.logParams({ learningRate: 0.0005, rank: 8, dropout: 0.1 });
    await second.logMetrics([{ key: 'loss', value: 0.8, step: 1 }]);
    const other = await tracker.startRun({ experiment: 'other' });
    await other.end('killed');

    expect((await tracker.listRuns()).map((run) => run.id).sort()).toEqual(
      [first.id, second.id, other.id].sort(),
    );
    const sftRuns = await tracker.listRuns({ experiment: 'sft' });
    expect(sftRuns.map((run) => run.name).sort()).toEqual(['first', 'second']);
    expect(sftRuns.find((run) => run.name === 'first')?.summary?.status).toBe('finished');
    expect(sftRuns.find((run) => run.name === 'second')?.summary).toBeUndefined();

    const comparison = await tracker.compareRuns([first.id, second.id]);
    expect(comparison.paramsCommon).toEqual({ rank: 8 });
    expect(comparison.paramsDiff).toEqual({
      learningRate: { [first.id]: 0.001, [second.id]: 0.0005 },
      seed: { [first.id]: 1, [second.id]: undefined },
      dropout: { [first.id]: undefined, [second.id]: 0.1 },
    });
    expect(comparison.metrics.loss[first.id]).toMatchObject({ final: 0.5, best: 0.5 });
    expect(comparison.metrics.loss[second.id]).toMatchObject({ final: 0.8, best: 0.8 });
    expect(comparison.runs.map((run) => run.status)).toEqual(['finished', 'running']);
    await expect(tracker.compareRuns(['missing-run'])).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(tracker.compareRuns(['../etc'])).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
