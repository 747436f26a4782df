import { randomUUID } from 'node:crypto';

/** The caller's `x-request-id` when it is a safe token (1–128 of `[A-Za-z0-9._:-]`), else a new UUID. */
export function requestIdOf(headers: Record<string, string | string[] | undefined>): string {
  const given = headers['x-request-id'];
  const value = Array.isArray(given) ? given[0] : given;
  return value && /^[A-Za-z0-9._:-]{1,128}$/.test(value) ? value : randomUUID();
}
