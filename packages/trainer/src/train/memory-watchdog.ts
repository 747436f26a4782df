import { type TunekitError, tunekitError } from '@tunekit/core';

/** How often a {@link startMemoryWatchdog} watchdog samples the process's resident memory. */
export const MEMORY_WATCH_INTERVAL_MS = 250;

const MIB = 1024 * 1024;

/** Options of {@link startMemoryWatchdog}. */
export interface MemoryWatchdogOptions {
  /** Memory the job may use, in MiB: how far the process's resident memory may grow from the start. */
  limitMb: number;
  /** Called once, with the growth in MiB, the first time a sample finds it past `limitMb`. */
  onExceeded: (grownMb: number) => void;
}

/** A running {@link startMemoryWatchdog} watchdog. */
export interface MemoryWatchdog {
  /** MiB the process's resident memory grew since the watchdog started. */
  grownMb(): number;
  /** Samples now (as every {@link MEMORY_WATCH_INTERVAL_MS} ms does); calls `onExceeded` past the limit. */
  check(): void;
  /** Stops sampling; `onExceeded` is not called after it. */
  stop(): void;
}

/**
 * Watches a training job's memory: remembers the process's resident memory (`rss`) now and, every
 * {@link MEMORY_WATCH_INTERVAL_MS} ms or on {@link MemoryWatchdog.check}, compares it with the
 * limit. The growth is the whole process's, so other work running in it at the same time counts
 * too; a burst between two samples is not seen. The timer does not keep the process alive.
 */
export function startMemoryWatchdog(options: MemoryWatchdogOptions): MemoryWatchdog {
  const baseline = process.memoryUsage.rss();
  let stopped = false;
  const grownMb = () => (process.memoryUsage.rss() - baseline) / MIB;
  const stop = () => {
    stopped = true;
    clearInterval(timer);
  };
  const check = () => {
    if (stopped) return;
    const grown = grownMb();
    if (grown <= options.limitMb) return;
    stop();
    options.onExceeded(grown);
  };
  const timer = setInterval(check, MEMORY_WATCH_INTERVAL_MS);
  timer.unref();
  return { grownMb, check, stop };
}

/**
 * The `JOB_MEMORY_LIMIT` error of a training job that used more than its limit: the message names
 * the measured MiB, what was measured and the limit, then `consequence` (what was done about it).
 */
export function jobMemoryLimitError(
  limitMb: number,
  measuredMb: number,
  source: 'resident memory' | 'JavaScript heap',
  consequence: string,
): TunekitError {
  return tunekitError(
    'JOB_MEMORY_LIMIT',
    `The training job used ${measuredMb.toFixed(1)} MiB (${source}), more than its memory limit of ${limitMb} MiB: ${consequence}`,
    { limitMb, measuredMb: Math.round(measuredMb * 10) / 10, source },
  );
}
