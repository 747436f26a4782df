import { tunekitError } from '@tunekit/core';

/** Options of {@link createLoginRateLimiter}. */
export interface LoginRateLimitOptions {
  /** Attempts allowed per client address per window (default 10). */
  max?: number;
  /** Window length in milliseconds (default 60 000). */
  windowMs?: number;
}

/** A fixed-window attempt counter per client address (per server instance, not process-global). */
export interface LoginRateLimiter {
  /** Counts an attempt; throws `RATE_LIMITED` (429, with `retryAfterSeconds`) past the limit. */
  hit(key: string): void;
  /** Throws `RATE_LIMITED` when `key` already used up its window, without counting. */
  check(key: string): void;
  /** Counts an attempt of `key` (a failed login) without throwing. */
  record(key: string): void;
}

/** Creates the login rate limiter used by `/auth/login` in both adapters. */
export function createLoginRateLimiter(
  options: LoginRateLimitOptions = {},
  now = () => Date.now(),
): LoginRateLimiter {
  const max = options.max ?? 10;
  const windowMs = options.windowMs ?? 60_000;
  const windows = new Map<string, { start: number; count: number }>();
  const limited = (start: number, time: number) => {
    const retryAfterSeconds = Math.ceil((start + windowMs - time) / 1000);
    return tunekitError('RATE_LIMITED', `Too many login attempts; retry in ${retryAfterSeconds} s`, {
      retryAfterSeconds,
    });
  };
  /** Counts one attempt of `key` and returns its window. */
  const count = (key: string, time: number) => {
    if (windows.size > 10_000) {
      for (const [entry, window] of windows) if (time - window.start >= windowMs) windows.delete(entry);
    }
    const window = windows.get(key);
    if (!window || time - window.start >= windowMs) {
      const fresh = { start: time, count: 1 };
      windows.set(key, fresh);
      return fresh;
    }
    window.count += 1;
    return window;
  };
  return {
    hit(key) {
      const time = now();
      const window = count(key, time);
      if (window.count > max) throw limited(window.start, time);
    },
    check(key) {
      const time = now();
      const window = windows.get(key);
      if (window && time - window.start < windowMs && window.count >= max) throw limited(window.start, time);
    },
    record(key) {
      count(key, now());
    },
  };
}
