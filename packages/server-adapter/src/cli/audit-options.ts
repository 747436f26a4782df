import { join } from 'node:path';
import type { TunekitOptions } from '@tunekit/core';
import { AUDIT_KEY_FILE, ensureAuditKey, readAuditKey } from './first-run-state.js';

/**
 * The kit's audit options from the environment: `TUNEKIT_AUDIT_KEY` (at least 32 characters) keys
 * the audit chain (HMAC-SHA256). It is read from the environment, not the database, so that it stays
 * outside the database; every process of a deployment (`serve`, `worker`, other commands) needs the
 * same value.
 */
export function auditOptionsFromEnvironment(
  env: Record<string, string | undefined>,
): Pick<TunekitOptions, 'audit'> {
  const key = env.TUNEKIT_AUDIT_KEY;
  return key ? { audit: { key } } : {};
}

/** Where the audit key of a command comes from. */
export interface AuditKeySource {
  /** The kit's audit options (empty when the chain stays unkeyed). */
  options: Pick<TunekitOptions, 'audit'>;
  /** `environment` (`TUNEKIT_AUDIT_KEY`), `file` (`<data>/audit-key`) or `none`. */
  source: 'environment' | 'file' | 'none';
  /** The key file, when the key came from (or was written to) one. */
  file?: string;
  /** Whether this call generated the key file. */
  created: boolean;
}

/**
 * The audit key of a command working on `dataDirectory`: `TUNEKIT_AUDIT_KEY` wins; else the key
 * stored in `<dataDirectory>/audit-key`, which `generate` creates on first use (what `tunekit serve`
 * does, so the chain is keyed by default). Commands that only open the data directory (`datasets`,
 * `train` …) read the file but never create it, so they keep writing to a keyed chain with its key.
 */
export async function resolveAuditKey(
  env: Record<string, string | undefined>,
  dataDirectory: string | undefined,
  options: { generate: boolean },
): Promise<AuditKeySource> {
  const fromEnvironment = auditOptionsFromEnvironment(env);
  if (fromEnvironment.audit !== undefined) {
    return { options: fromEnvironment, source: 'environment', created: false };
  }
  if (dataDirectory === undefined) return { options: {}, source: 'none', created: false };
  if (options.generate) {
    const stored = await ensureAuditKey(dataDirectory);
    return {
      options: { audit: { key: stored.secret } },
      source: 'file',
      file: stored.file,
      created: stored.created,
    };
  }
  const key = await readAuditKey(dataDirectory);
  return key === undefined
    ? { options: {}, source: 'none', created: false }
    : {
        options: { audit: { key } },
        source: 'file',
        file: join(dataDirectory, AUDIT_KEY_FILE),
        created: false,
      };
}
