import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Storage } from '../storage/collection.js';

/** Name of the storage collection that holds the job queue's revision record. */
export const JOB_QUEUE_COLLECTION = 'job-queue';

const REVISION_ID = 'revision';

/** The revision record: a fresh random value whenever a job becomes queued. */
export const JobQueueRevisionSchema = z.object({
  id: z.string().min(1),
  revision: z.string().min(1),
  changedAt: z.string(),
  version: z.number().int().min(0).optional(),
});

/** The revision record. */
export type JobQueueRevision = z.infer<typeof JobQueueRevisionSchema>;

/**
 * A cheap change signal for runners sharing storage: whoever queues a job writes the job, then
 * {@link JobQueueRevisionStore.bump}s the revision; a runner that reads a new revision re-lists the
 * jobs. Reading one key per poll instead of listing every job keeps idle polling cheap however long
 * the job history is. Since the job is written before the revision, a runner that reads the new
 * revision and then lists sees the job.
 */
export interface JobQueueRevisionStore {
  /** The current revision (undefined before the first bump). */
  read(): Promise<string | undefined>;
  /** Writes a new revision (last writer wins; any change is a signal). */
  bump(): Promise<void>;
}

/** Opens the revision record of the job queue in `storage` (collection {@link JOB_QUEUE_COLLECTION}). */
export function createJobQueueRevisionStore(storage: Storage): JobQueueRevisionStore {
  const records = storage.collection(JOB_QUEUE_COLLECTION, JobQueueRevisionSchema);
  return {
    async read() {
      return (await records.get(REVISION_ID))?.revision;
    },
    async bump() {
      await records.set({ id: REVISION_ID, revision: randomUUID(), changedAt: new Date().toISOString() });
    },
  };
}
