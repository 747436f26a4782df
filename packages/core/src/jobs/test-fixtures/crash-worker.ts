/**
 * Child process of the crash-recovery test: opens a kit on the data directory given as argv[2]
 * (SQLite storage `<dir>/tunekit.sqlite`), with the job options given as JSON in argv[3] if any,
 * submits one `fragile` and one `resumable` job that never finish on their own, prints
 * `{"ready":true,"jobs":{…}}` once both are persisted as running with progress, then waits to be
 * killed with SIGKILL.
 */
import { createTunekit } from '../../kit/create-tunekit.js';
import { JobSchema } from '../../schemas/job.js';
import { JOBS_COLLECTION } from '../in-process-job-queue.js';

const dataDirectory = process.argv[2];
if (dataDirectory === undefined) {
  throw new Error('usage: crash-worker.ts <data directory>');
}
const jobOptions = JSON.parse(process.argv[3] ?? '{}') as Record<string, unknown>;
const kit = await createTunekit({ dataDirectory, jobs: { progressPersistIntervalMs: 0, ...jobOptions } });
const queue = kit.jobs;
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
const records = kit.storage.collection(JOBS_COLLECTION, JobSchema);
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
