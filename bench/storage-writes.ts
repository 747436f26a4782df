/**
 * SQLite write throughput: `npx tsx bench/storage-writes.ts` prints one JSON line per figure —
 * sequential and 16-concurrent `collection.set`, an audit append alone, and `kit.feedback.record`
 * (which also appends to the audit log) sequential and 16-concurrent. Each figure runs on a fresh
 * SQLite file in a temporary directory (on the same disk as `os.tmpdir()`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStorage, createTunekit } from '@tunekit/core';
import { z } from 'zod';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONCURRENCY = 16;
const directory = await mkdtemp(join(tmpdir(), 'tunekit-bench-storage-'));

const RecordSchema = z.object({
  id: z.string(),
  name: z.string(),
  score: z.number(),
  tags: z.array(z.string()),
  version: z.number().int().optional(),
});

/** Runs `task` from `workers` loops for about SECONDS; returns operations per second and mean latency. */
async function measure(workers: number, task: (index: number) => Promise<unknown>) {
  let next = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (performance.now() < deadline) {
        const index = next;
        next += 1;
        await task(index);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    operations: next,
    operationsPerSecond: Math.round(next / seconds),
    meanLatencyMs: Number(((seconds * 1000 * workers) / next).toFixed(3)),
  };
}

function print(benchmark: string, concurrency: number, result: Awaited<ReturnType<typeof measure>>) {
  console.log(
    JSON.stringify({
      benchmark,
      backend: 'sqlite',
      concurrency,
      ...result,
      seconds: SECONDS,
      node: process.version,
    }),
  );
}

for (const concurrency of [1, CONCURRENCY]) {
  const storage = await createStorage({
    driver: 'sqlite',
    path: join(directory, `collection-${concurrency}.sqlite`),
  });
  const records = storage.collection('records', RecordSchema);
  const result = await measure(concurrency, (index) =>
    records.set({ id: `record-${index}`, name: `name ${index}`, score: index / 7, tags: ['a', 'b'] }),
  );
  await storage.close();
  print('storage-collection-set', concurrency, result);
}

{
  const kit = await createTunekit({ dataDirectory: join(directory, 'audit') });
  const result = await measure(1, (index) =>
    kit.audit.append({
      action: 'bench.write',
      resourceType: 'bench',
      resourceId: `r${index}`,
      outcome: 'success',
    }),
  );
  const verification = await kit.audit.verify();
  await kit.close();
  if (!verification.valid) throw new Error(`audit chain broken: ${JSON.stringify(verification)}`);
  print('storage-audit-append', 1, result);
}

for (const concurrency of [1, CONCURRENCY]) {
  const kit = await createTunekit({ dataDirectory: join(directory, `feedback-${concurrency}`) });
  const result = await measure(concurrency, (index) =>
    kit.feedback.record(
      {
        modelId: 'tone-v2',
        userId: `user-${index % 100}`,
        input: `Rewrite sentence ${index} politely.`,
        output: `Here is sentence ${index}, politely.`,
        rating: (index % 5) + 1,
      },
      { actor: 'bench' },
    ),
  );
  const verification = await kit.audit.verify();
  await kit.close();
  if (!verification.valid || verification.checked !== result.operations) {
    throw new Error(`audit chain: ${JSON.stringify(verification)} after ${result.operations} records`);
  }
  print('feedback-record-with-audit', concurrency, result);
}

await rm(directory, { recursive: true, force: true });
