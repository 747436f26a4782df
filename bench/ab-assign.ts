// A/B assignment throughput on one core: `npx tsx bench/ab-assign.ts` prints one JSON line.
import { createABTestService, createEventBus, createStorage } from '@tunekit/core';

const UNITS = 1_000_000;
const PASSES = 5;

const storage = await createStorage({ driver: 'memory' });
const service = createABTestService({ storage, events: createEventBus() });
const test = await service.create({
  name: 'bench',
  variants: [
    { modelId: 'model-a', weight: 50 },
    { modelId: 'model-b', weight: 30 },
    { modelId: 'model-c', weight: 20 },
  ],
  successMetric: { kind: 'binary', name: 'converted' },
});
const unitIds = Array.from(
  { length: UNITS },
  (_, index) => `user-${index.toString(36)}-${(index * 2654435761) >>> 0}`,
);

const assign = await service.assigner(test.id);
let checksum = 0;
for (let index = 0; index < 200_000; index += 1) checksum += assign(unitIds[index] as string).bucket; // warm-up
let started = process.hrtime.bigint();
for (let pass = 0; pass < PASSES; pass += 1) {
  for (let index = 0; index < UNITS; index += 1) checksum += assign(unitIds[index] as string).bucket;
}
const syncSeconds = Number(process.hrtime.bigint() - started) / 1e9;

started = process.hrtime.bigint();
for (let index = 0; index < UNITS; index += 1)
  checksum += (await service.assign(test.id, unitIds[index] as string)).bucket;
const asyncSeconds = Number(process.hrtime.bigint() - started) / 1e9;

console.log(
  JSON.stringify({
    benchmark: 'ab-assign',
    assignmentsPerSecond: Math.round((UNITS * PASSES) / syncSeconds),
    asyncAssignmentsPerSecond: Math.round(UNITS / asyncSeconds),
    unitIdLength: (unitIds[UNITS - 1] as string).length,
    variants: 3,
    node: process.version,
    checksum,
  }),
);
await storage.close();
