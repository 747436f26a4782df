import type { Job } from '../schemas/job.js';
import { executeRun } from './execute-run.js';
import type { ActiveRun, JobQueueRuntime, PendingEntry, RunOutcome } from './job-queue-runtime.js';
import { track } from './job-queue-runtime.js';

function activeOfKind(runtime: JobQueueRuntime, kind: string): number {
  let count = 0;
  for (const run of runtime.active.values()) {
    if (run.job.kind === kind) {
      count += 1;
    }
  }
  return count;
}

/**
 * The pending job to start next: due, of a registered kind under its concurrency limit; highest
 * priority first, then oldest, then first seen.
 */
function pickNext(runtime: JobQueueRuntime, now: number): PendingEntry | undefined {
  let best: PendingEntry | undefined;
  for (const entry of runtime.pending.values()) {
    const kind = runtime.kinds.get(entry.kind);
    if (kind === undefined || entry.notBefore > now) {
      continue;
    }
    const kindLimit = kind.options.concurrency;
    if (kindLimit !== undefined && activeOfKind(runtime, entry.kind) >= kindLimit) {
      continue;
    }
    if (
      best === undefined ||
      entry.priority > best.priority ||
      (entry.priority === best.priority &&
        (entry.createdAt < best.createdAt ||
          (entry.createdAt === best.createdAt && entry.sequence < best.sequence)))
    ) {
      best = entry;
    }
  }
  return best;
}

/** Sets the wake timer to the earliest delayed retry of a registered kind. */
function scheduleWake(runtime: JobQueueRuntime, now: number): void {
  if (runtime.wakeTimer !== undefined) {
    clearTimeout(runtime.wakeTimer);
    runtime.wakeTimer = undefined;
  }
  let earliest = Number.POSITIVE_INFINITY;
  for (const entry of runtime.pending.values()) {
    if (entry.notBefore > now && runtime.kinds.has(entry.kind)) {
      earliest = Math.min(earliest, entry.notBefore);
    }
  }
  if (Number.isFinite(earliest)) {
    runtime.wakeTimer = setTimeout(runtime.dispatch, Math.max(0, earliest - now));
    runtime.wakeTimer.unref?.();
  }
}

/** Reserves a slot for `entry` synchronously; the job is claimed in storage asynchronously. */
function startRun(runtime: JobQueueRuntime, entry: PendingEntry): void {
  let settleOutcome: (outcome: RunOutcome) => void = () => {};
  const outcome = new Promise<RunOutcome>((resolve) => {
    settleOutcome = resolve;
  });
  let resolveClaimed: (holds: boolean) => void = () => {};
  const claimed = new Promise<boolean>((resolve) => {
    resolveClaimed = resolve;
  });
  let settled = false;
  const run: ActiveRun = {
    id: entry.id,
    job: { id: entry.id, kind: entry.kind } as Job,
    controller: new AbortController(),
    settle: (value) => {
      if (!settled) {
        settled = true;
        settleOutcome(value);
      }
    },
    isSettled: () => settled,
    claimed,
    renewing: false,
    done: Promise.resolve(),
  };
  runtime.active.set(entry.id, run);
  run.done = track(runtime, executeRun(runtime, run, outcome, resolveClaimed));
}

/**
 * Starts pending jobs while this runner has free slots (global and per-kind concurrency), then
 * arms a timer for the earliest delayed retry. Does nothing before start or after close.
 */
export function dispatchPendingJobs(runtime: JobQueueRuntime): void {
  if (runtime.closed || !runtime.started) {
    return;
  }
  const now = Date.now();
  while (runtime.active.size < runtime.concurrency) {
    const next = pickNext(runtime, now);
    if (next === undefined) {
      break;
    }
    runtime.pending.delete(next.id);
    startRun(runtime, next);
  }
  scheduleWake(runtime, now);
}
