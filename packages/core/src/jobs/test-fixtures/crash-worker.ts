/**
 * Child process of the crash-recovery test: opens a queue on the SQLite file given as argv[2],
 * submits one `fragile` and one `resumable` job that never finish on their own, prints
 * `{"ready":true,"jobs":{…}}` once both are persisted as running with progress, then waits to be
 * killed with SIGKILL.
 */
import { createEventBus } from '../../events/create-event-bus.js';
import { JobSchema } from '../../schemas/job.js';
import { createStorage } from '../../storage/create-storage.js';
import { createInProcessJobQueue } from '../in-process-job-queue.js';

const path = process.argv[2];
if (path === undefined) {
  throw new Error('usage: crash-worker.ts <sqlite file>');
}
const storage = await createStorage({ driver: 'sqlite', path });
const queue = createInProcessJobQueue({ storage, events: createEventBus(), progressPersistIntervalMs: 0 });
await queue.start();
const runForever = async (
  _input: unknown,
  context: { progress(value: number): void; signal: AbortSignal },
) => {
  context.progress(0.25);
  await new Promise((resolve) => setTimeout(resolve, 600_000));
};
queue.register('fragile', runForever);
queue.register('resumable', runForever, { requeueOnRecovery: true });
const fragile = await queue.submit('fragile', { step: 'a' });
const resumable = await queue.submit('resumable', { step: 'b' });
const records = storage.collection('jobs', JobSchema);
for (;;) {
  const stored = await Promise.all([records.get(fragile.id), records.get(resumable.id)]);
  if (stored.every((job) => job?.status === 'running' && job.progress > 0)) {
    break;
  }
  await new Promise((resolve) => setTimeout(resolve, 10));
}
process.stdout.write(
  `${JSON.stringify({ ready: true, pid: process.pid, jobs: { fragile: fragile.id, resumable: resumable.id } })}\n`,
);
await new Promise((resolve) => setTimeout(resolve, 600_000));
