/** What {@link AnonymousAuditLimiter.admit} decides for one anonymous failure. */
export type AnonymousAuditDecision =
  /** Write the event as usual. */
  | { kind: 'record' }
  /** Write nothing now: the failure is counted in the address's summary. */
  | { kind: 'suppress' }
  /** Write a summary of the failures suppressed in the address's last window instead of this one. */
  | { kind: 'summary'; suppressed: number; since: string };

/**
 * Bounds how many audit events anonymous failures write per client address per minute. Past the
 * budget, failures are counted; the first failure of the next window writes one summary event for
 * the suppressed ones (and summaries are written at most once per address per window). Memory is
 * bounded: at most `maxAddresses` windows are kept, the oldest dropped first.
 */
export interface AnonymousAuditLimiter {
  admit(address: string): AnonymousAuditDecision;
}

/** Creates the limiter (`perMinute` 0 disables suppression: every failure is recorded). */
export function createAnonymousAuditLimiter(
  perMinute: number,
  now: () => number = () => Date.now(),
  maxAddresses = 10_000,
): AnonymousAuditLimiter {
  const windows = new Map<string, { start: number; count: number; suppressed: number }>();
  const windowMs = 60_000;
  return {
    admit(address) {
      if (perMinute === 0) return { kind: 'record' };
      const time = now();
      let window = windows.get(address);
      if (!window || time - window.start >= windowMs) {
        const suppressed = window?.suppressed ?? 0;
        const since = window ? new Date(window.start).toISOString() : '';
        windows.delete(address);
        if (windows.size >= maxAddresses) {
          const oldest = windows.keys().next().value;
          if (oldest !== undefined) windows.delete(oldest);
        }
        window = { start: time, count: 1, suppressed: 0 };
        windows.set(address, window);
        return suppressed > 0 ? { kind: 'summary', suppressed, since } : { kind: 'record' };
      }
      window.count += 1;
      if (window.count <= perMinute) return { kind: 'record' };
      window.suppressed += 1;
      return { kind: 'suppress' };
    },
  };
}
