import type { TunekitOptions } from '@tunekit/core';

/**
 * The kit's audit options from the environment: `TUNEKIT_AUDIT_KEY` (at least 32 characters) keys
 * the audit chain (HMAC-SHA256). It is read from the environment, not the data directory, so that it
 * stays outside the database; every process of a deployment (`serve`, `worker`, other commands)
 * needs the same value.
 */
export function auditOptionsFromEnvironment(
  env: Record<string, string | undefined>,
): Pick<TunekitOptions, 'audit'> {
  const key = env.TUNEKIT_AUDIT_KEY;
  return key ? { audit: { key } } : {};
}
