// A/B outcome recording and results latency on SQLite: `npx tsx bench/ab-results.ts` prints one JSON
// line. AB_RESULTS_OUTCOMES (default 100,000) outcomes, one per unit, are recorded one at a time
// (awaited), then `results()` is timed up to 7 times (fewer once 30 s were spent on it), then
// `recompute()` (a rebuild of the statistics from the unit records) once.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createABTestService, createEventBus, createStorage } from '@tunekit/core';

const OUTCOMES = Number(process.env.AB_RESULTS_OUTCOMES ?? 100_000);
const RESULTS_RUNS = 7;
const RESULTS_BUDGET_MS = 30_000;

const directory = await mkdtemp(join(tmpdir(), 'tunekit-bench-ab-'));
const storage = await createStorage({ driver: 'sqlite', path: join(directory, 'tunekit.sqlite') });
const service = createABTestService({ storage, events: createEventBus() });
const test = await service.create({
  name: 'bench',
  variants: [
    { modelId: 'model-a', weight: 50 },
    { modelId: 'model-b', weight: 50 },
  ],
  successMetric: { kind: 'numeric', name: 'revenue' },
});

// A deterministic pseudo-random revenue per unit (xorshift32).
let state = 2463534242;
const next = () => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 4294967296;
};

const recordStarted = process.hrtime.bigint();
for (let index = 0; index < OUTCOMES; index += 1) {
  await service.record(test.id, `user-${index}`, { outcome: Math.round(next() * 10_000) / 100 });
}
const recordSeconds = Number(process.hrtime.bigint() - recordStarted) / 1e9;
console.error(`recorded ${OUTCOMES} outcomes in ${recordSeconds.toFixed(1)} s`);

const latencies: number[] = [];
let units = 0;
for (let run = 0, spent = 0; run < RESULTS_RUNS && spent < RESULTS_BUDGET_MS; run += 1) {
  const started = process.hrtime.bigint();
  const results = await service.results(test.id);
  latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
  spent += latencies.at(-1) as number;
  units = results.variants.reduce((sum, variant) => sum + variant.n, 0);
}
const first = latencies[0] as number;
// A full rebuild from the unit records (one pass), where the service has one.
let recomputeMilliseconds: number | null = null;
const withRecompute = service as { recompute?: (testId: string) => Promise<unknown> };
if (typeof withRecompute.recompute === 'function') {
  const started = process.hrtime.bigint();
  await withRecompute.recompute(test.id);
  recomputeMilliseconds = Number((Number(process.hrtime.bigint() - started) / 1e6).toFixed(1));
}
latencies.sort((a, b) => a - b);

console.log(
  JSON.stringify({
    benchmark: 'ab-results',
    storage: 'sqlite',
    outcomes: OUTCOMES,
    unitsInResults: units,
    recordsPerSecond: Math.round(OUTCOMES / recordSeconds),
    resultsMillisecondsMedian: Number((latencies[Math.floor(latencies.length / 2)] as number).toFixed(3)),
    resultsMillisecondsMin: Number((latencies[0] as number).toFixed(3)),
    resultsMillisecondsFirst: Number(first.toFixed(3)),
    resultsRuns: latencies.length,
    recomputeMilliseconds,
    node: process.version,
  }),
);
await storage.close();
await rm(directory, { recursive: true, force: true });
