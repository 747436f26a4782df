import { tunekitError } from '../errors/tunekit-error.js';
import type { EventBus } from '../events/event-bus.js';
import type { Job } from '../schemas/job.js';
import type { Collection } from '../storage/collection.js';
import { FINAL_JOB_STATUSES } from './job-queue-runtime.js';

/** What {@link waitForJob} reads: the job records, the local events and the queue's pending waits. */
export interface JobWaiting {
  readonly records: Collection<Job>;
  readonly events: EventBus;
  /** How often the record is re-read besides listening to events. */
  readonly pollIntervalMs: number;
  /** Rejecters of pending waits, called with `KIT_CLOSED` when the queue closes. */
  readonly waiters: Set<(error: unknown) => void>;
  /**
   * Subscribes to jobs that other processes finished (an engine relays them); returns the
   * unsubscribe. Without it, such jobs are seen by polling only.
   */
  readonly followFinished?: (listener: (jobId: string) => void) => () => void;
}

/**
 * Resolves with the job once it reaches a final status (`succeeded`, `failed`, `cancelled`). Listens
 * to this runner's events and polls the record, so jobs finished by other runners are seen too.
 * Rejects with `JOB_NOT_FOUND`, `JOB_TIMEOUT` (after `timeoutMs`), the signal's reason, or whatever
 * the queue's close passes to its waiters.
 */
export function waitForJob(
  waiting: JobWaiting,
  id: string,
  waitOptions: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<Job> {
  return new Promise<Job>((resolve, reject) => {
    let done = false;
    const cleanups: Array<() => void> = [];
    const stop = () => {
      done = true;
      for (const cleanup of cleanups) cleanup();
    };
    const rejectWaiter = (error: unknown) => {
      if (!done) {
        stop();
        reject(error);
      }
    };
    waiting.waiters.add(rejectWaiter);
    cleanups.push(() => waiting.waiters.delete(rejectWaiter));
    const check = async () => {
      try {
        const job = await waiting.records.get(id);
        if (done) return;
        if (job === undefined) {
          stop();
          reject(tunekitError('JOB_NOT_FOUND', `No job with id ${id}`, { jobId: id }));
        } else if (FINAL_JOB_STATUSES.has(job.status)) {
          stop();
          resolve(job);
        }
      } catch (error) {
        if (!done) {
          stop();
          reject(error);
        }
      }
    };
    const onFinal = (payload: { jobId: string }) => {
      if (payload.jobId === id) void check();
    };
    cleanups.push(waiting.events.on('job:succeeded', onFinal));
    cleanups.push(waiting.events.on('job:failed', onFinal));
    cleanups.push(waiting.events.on('job:cancelled', onFinal));
    if (waiting.followFinished !== undefined) {
      cleanups.push(waiting.followFinished((jobId) => onFinal({ jobId })));
    }
    // Jobs finished by other runners emit nothing here (unless followed): polling sees them.
    const poll = setInterval(() => void check(), waiting.pollIntervalMs);
    poll.unref?.();
    cleanups.push(() => clearInterval(poll));
    if (waitOptions.timeoutMs !== undefined) {
      const timer = setTimeout(() => {
        if (done) return;
        stop();
        reject(
          tunekitError('JOB_TIMEOUT', `Timed out after ${waitOptions.timeoutMs} ms waiting for job ${id}`, {
            jobId: id,
          }),
        );
      }, waitOptions.timeoutMs);
      cleanups.push(() => clearTimeout(timer));
    }
    const signal = waitOptions.signal;
    if (signal !== undefined) {
      const onAbort = () => {
        if (done) return;
        stop();
        reject(signal.reason);
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      cleanups.push(() => signal.removeEventListener('abort', onAbort));
    }
    void check();
  });
}
