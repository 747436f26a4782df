/**
 * Dataset validation throughput and memory: generates a JSONL classification dataset of
 * `DATASET_BENCH_MB` megabytes (default 300) with one invalid row in 1000, then
 * 1. validates it (`kit.datasets.validate`: stream, parse, zod), and
 * 2. registers it in lenient mode (also canonicalizes, hashes and stores the rows as an artifact),
 * sampling RSS throughout. Prints one JSON line.
 *
 * Run: `npx tsx bench/dataset-validate.ts`
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatasetService, createEventBus, createFileArtifactStore, createStorage } from '@tunekit/core';
import { generateJsonlFile } from '@tunekit/core/testing';

const megabytes = Number(process.env.DATASET_BENCH_MB ?? 300);
const directory = await mkdtemp(join(tmpdir(), 'tunekit-bench-dataset-'));
try {
  const path = join(directory, 'bench.jsonl');
  const generated = await generateJsonlFile(path, megabytes * 1024 * 1024, { invalidEvery: 1000 });
  const datasets = createDatasetService({
    storage: await createStorage({ driver: 'memory' }),
    artifacts: createFileArtifactStore({ directory: join(directory, 'artifacts') }),
    events: createEventBus(),
  });

  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);

  const validateStart = performance.now();
  const validation = await datasets.validate({ source: { path } });
  const validateSeconds = (performance.now() - validateStart) / 1000;

  const registerStart = performance.now();
  const version = await datasets.register({
    name: 'bench',
    kind: 'training',
    source: { path },
    mode: 'lenient',
  });
  const registerSeconds = (performance.now() - registerStart) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);

  const fileMegabytes = generated.bytes / 1024 / 1024;
  const round = (value: number, digits = 1) => Number(value.toFixed(digits));
  console.log(
    JSON.stringify({
      benchmark: 'dataset-validate',
      fileMegabytes: round(fileMegabytes),
      rows: generated.rows,
      invalidRows: validation.report.invalidRows,
      validate: {
        seconds: round(validateSeconds, 2),
        rowsPerSecond: Math.round(generated.rows / validateSeconds),
        megabytesPerSecond: round(fileMegabytes / validateSeconds),
      },
      register: {
        seconds: round(registerSeconds, 2),
        rowsPerSecond: Math.round(generated.rows / registerSeconds),
        megabytesPerSecond: round(fileMegabytes / registerSeconds),
        storedMegabytes: round(version.bytes / 1024 / 1024),
      },
      baselineRssMegabytes: round(baseline / 1024 / 1024),
      peakRssMegabytes: round(peak / 1024 / 1024),
      rssGrowthMegabytes: round((peak - baseline) / 1024 / 1024),
      node: process.version,
      cpu: cpus()[0]?.model,
      cores: cpus().length,
    }),
  );
} finally {
  await rm(directory, { recursive: true, force: true });
}
