import type { TunekitError } from '@tunekit/core';
import { jobMemoryLimitError, startMemoryWatchdog } from './memory-watchdog.js';

/** A training run's memory watch in the calling thread ({@link watchInThreadMemory}). */
export interface InThreadMemoryWatch {
  /** The signal to train with: aborted with the caller's signal, and once the limit was passed. */
  signal: AbortSignal | undefined;
  /** Samples now; call it after every step so that a run over the limit stops at its next one. */
  check(): void;
  /** The `JOB_MEMORY_LIMIT` error once the limit was passed, else undefined. */
  exceeded(): TunekitError | undefined;
  /** Stops watching. */
  stop(): void;
}

/**
 * Watches a training run that runs in this thread (`trainerPlugin({ worker: false })`), where
 * nothing can be terminated: past `limitMb` of resident-memory growth (see `startMemoryWatchdog`)
 * it aborts the returned signal, so the run stops at its next step the way a cancel does (with a
 * checkpoint), and {@link InThreadMemoryWatch.exceeded} gives the `JOB_MEMORY_LIMIT` error to fail
 * the job with. Without a limit it only passes `signal` on.
 */
export function watchInThreadMemory(
  limitMb: number | undefined,
  signal: AbortSignal | undefined,
): InThreadMemoryWatch {
  if (limitMb === undefined) {
    return { signal, check: () => undefined, exceeded: () => undefined, stop: () => undefined };
  }
  const controller = new AbortController();
  let error: TunekitError | undefined;
  const watchdog = startMemoryWatchdog({
    limitMb,
    onExceeded: (grownMb) => {
      error = jobMemoryLimitError(limitMb, grownMb, 'resident memory', 'training stopped at its next step');
      controller.abort(error);
    },
  });
  return {
    signal: signal ? AbortSignal.any([signal, controller.signal]) : controller.signal,
    check: watchdog.check,
    exceeded: () => error,
    stop: watchdog.stop,
  };
}
