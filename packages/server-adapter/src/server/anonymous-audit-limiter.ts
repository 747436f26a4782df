/** What {@link AnonymousAuditLimiter.admit} decides for one anonymous failure. */
export type AnonymousAuditDecision =
  /** Write the event as usual. */
  | { kind: 'record' }
  /** Write nothing now: the failure is counted in the address's summary. */
  | { kind: 'suppress' }
  /** Write a summary of the failures suppressed in the address's last window instead of this one. */
  | { kind: 'summary'; suppressed: number; since: string };

/** The failures of one address that were counted instead of written, as {@link AnonymousAuditLimiter.flush} returns them. */
export interface SuppressedSummary {
  address: string;
  /** How many failures were suppressed. */
  suppressed: number;
  /** Start of the window they fell in (ISO time). */
  since: string;
  /** What the last suppressed failure was (as given to `admit`). */
  latest?: Record<string, unknown>;
}

/**
 * Bounds how many audit events anonymous failures write per client address per minute. Past the
 * budget, failures are counted; the first failure of the next window writes one summary event for
 * the suppressed ones (and summaries are written at most once per address per window). So that the
 * count of a flood that simply stops is not lost, {@link flush} hands over the summaries of windows
 * that have ended (the server calls it every window and at shutdown). Memory is bounded: at most
 * `maxAddresses` windows are kept, the oldest dropped first (its count is then lost; the server's
 * periodic flush keeps that rare).
 */
export interface AnonymousAuditLimiter {
  /** Decides for one failure of `address`; `latest` describes it for a later summary. */
  admit(address: string, latest?: Record<string, unknown>): AnonymousAuditDecision;
  /**
   * Takes the suppressed counts of windows that have ended (every window with `all`, at shutdown)
   * and returns them as summaries to write; each count is handed over once.
   */
  flush(all?: boolean): SuppressedSummary[];
}

interface AddressWindow {
  start: number;
  count: number;
  suppressed: number;
  latest?: Record<string, unknown>;
}

/** Length of one budget window (the limit is per minute). */
export const ANONYMOUS_AUDIT_WINDOW_MS = 60_000;

/** Creates the limiter (`perMinute` 0 disables suppression: every failure is recorded). */
export function createAnonymousAuditLimiter(
  perMinute: number,
  now: () => number = () => Date.now(),
  maxAddresses = 10_000,
): AnonymousAuditLimiter {
  const windows = new Map<string, AddressWindow>();
  const windowMs = ANONYMOUS_AUDIT_WINDOW_MS;
  return {
    admit(address, latest) {
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
      window.latest = latest;
      return { kind: 'suppress' };
    },
    flush(all = false) {
      const time = now();
      const summaries: SuppressedSummary[] = [];
      for (const [address, window] of windows) {
        const ended = time - window.start >= windowMs;
        if (!ended && !all) continue;
        if (window.suppressed > 0) {
          summaries.push({
            address,
            suppressed: window.suppressed,
            since: new Date(window.start).toISOString(),
            ...(window.latest === undefined ? {} : { latest: window.latest }),
          });
          window.suppressed = 0;
          window.latest = undefined;
        }
        // An ended window holds nothing worth keeping: the address starts afresh.
        if (ended) windows.delete(address);
      }
      return summaries;
    },
  };
}

/** The `http.suppressed` audit entry that stands for the suppressed failures of one address. */
export function suppressedAuditEntry(
  summary: Omit<SuppressedSummary, 'address'>,
  outcome: 'failure' | 'denied',
) {
  return {
    action: 'http.suppressed',
    resourceType: 'http',
    outcome,
    details: {
      suppressed: summary.suppressed,
      since: summary.since,
      reason: 'anonymous failures past limits.anonymousAuditPerMinute from this address',
      ...(summary.latest === undefined ? {} : { latest: summary.latest }),
    },
  };
}
