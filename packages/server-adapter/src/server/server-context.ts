import { hkdfSync, randomBytes } from 'node:crypto';
import { type Predictor, type Tunekit, tunekitError } from '@tunekit/core';
import { type Authenticator, createAuthenticator } from '../auth/authenticator.js';
import { createLoginRateLimiter, type LoginRateLimiter } from '../auth/login-rate-limiter.js';
import { createUserStore, type UserStore } from '../auth/user-store.js';
import { createModelCache, type ModelCache } from '../inference/model-cache.js';
import {
  ANONYMOUS_AUDIT_WINDOW_MS,
  type AnonymousAuditLimiter,
  createAnonymousAuditLimiter,
  suppressedAuditEntry,
} from './anonymous-audit-limiter.js';
import { type ConcurrencyLimiter, createConcurrencyLimiter } from './concurrency-limiter.js';
import { createExposureTokens, type ExposureTokens } from './exposure-tokens.js';
import { type ServerLimits, ServerLimitsSchema } from './server-limits.js';
import { DEFAULT_BODY_LIMIT, DEFAULT_UPLOAD_LIMIT, type TunekitServerOptions } from './server-options.js';
import { createTrainingHistory, type TrainingHistory } from './training-history.js';

/** Per-mount state shared by the routes: auth, users, model cache, limits. One per adapter instance. */
export interface ServerContext {
  readonly kit: Tunekit;
  readonly options: TunekitServerOptions;
  readonly authenticator: Authenticator;
  readonly users: UserStore;
  readonly models: ModelCache;
  /** Metric curves of the training runs this server saw (the dashboard's charts). */
  readonly history: TrainingHistory;
  /** Failed logins per client address. */
  readonly loginLimiter: LoginRateLimiter;
  /** Failed logins per account (from any address). */
  readonly accountLoginLimiter: LoginRateLimiter;
  /** The limits in force (defaults applied). */
  readonly limits: ServerLimits;
  /** Open event streams per principal and in all. */
  readonly streamLimiter: ConcurrencyLimiter;
  /** Generations running per principal and in all. */
  readonly generationLimiter: ConcurrencyLimiter;
  /** How many audit events anonymous failures may write per address. */
  readonly anonymousAudit: AnonymousAuditLimiter;
  /** Signs and checks A/B exposure tokens (`assign` issues them, `record` and `/feedback` require them). */
  readonly exposureTokens: ExposureTokens;
  readonly predictors: ReadonlyMap<string, Predictor>;
  readonly bodyLimit: number;
  readonly uploadLimit: number;
  readonly startedAt: number;
  /** Resolves once configured users exist. */
  readonly ready: Promise<void>;
  /** Whether the server is shutting down (`/ready` answers 503). */
  draining: boolean;
  /** Open event streams; aborted on shutdown so that in-flight SSE responses end. */
  readonly streams: Set<AbortController>;
  /**
   * Writes the `http.suppressed` summaries of anonymous-failure windows that have ended (every
   * window with `all`): runs every minute and at `close`, so a flood that stops is still counted.
   */
  flushAnonymousAudit(all?: boolean): Promise<void>;
  /** Writes the pending anonymous-audit summaries and releases loaded models. */
  close(): Promise<void>;
}

/**
 * A 32-byte key for `purpose`, derived (HKDF-SHA256) from `signingSecret`, else `auth.jwtSecret`,
 * so that one secret never signs two kinds of token; random per process when neither is set.
 */
export function derivedServerKey(options: TunekitServerOptions, purpose: string): Uint8Array {
  if (options.signingSecret !== undefined && options.signingSecret.length < 32) {
    throw tunekitError(
      'VALIDATION_FAILED',
      'Invalid server options: signingSecret: needs at least 32 characters',
      { issues: [{ path: 'signingSecret', message: 'needs at least 32 characters' }] },
    );
  }
  const secret = options.signingSecret ?? options.auth?.jwtSecret;
  if (secret === undefined) return randomBytes(32);
  return new Uint8Array(hkdfSync('sha256', secret, 'tunekit', purpose, 32));
}

/** Creates the shared state of one mounted adapter. */
export function createServerContext(kit: Tunekit, options: TunekitServerOptions = {}): ServerContext {
  const limits = ServerLimitsSchema.parse(options.limits ?? {});
  const users = createUserStore(kit);
  const models = createModelCache(kit, options.models);
  const history = createTrainingHistory(kit);
  const ready = (async () => {
    for (const user of options.users ?? []) {
      if (!(await users.get(user.username))) await users.create(user);
    }
  })();
  ready.catch(() => undefined);
  const anonymousAudit = createAnonymousAuditLimiter(limits.anonymousAuditPerMinute);
  const flushAnonymousAudit = async (all = false) => {
    for (const summary of anonymousAudit.flush(all)) {
      await kit.audit
        .record(suppressedAuditEntry(summary, 'failure'), { actor: 'anonymous', ip: summary.address })
        .catch((error: unknown) => kit.logger.error({ err: error }, 'audit record failed'));
    }
  };
  // The last window of a flood that stops is written by this timer (it keeps no process alive).
  const flushTimer = setInterval(() => void flushAnonymousAudit(false), ANONYMOUS_AUDIT_WINDOW_MS);
  flushTimer.unref();
  let closing: Promise<void> | undefined;
  return {
    kit,
    options,
    authenticator: createAuthenticator(options.auth, users),
    users,
    models,
    history,
    loginLimiter: createLoginRateLimiter({
      max: options.loginRateLimit?.max ?? limits.login.perAddress,
      windowMs: options.loginRateLimit?.windowMs ?? limits.login.windowMs,
    }),
    accountLoginLimiter: createLoginRateLimiter({
      max: limits.login.perAccount,
      windowMs: options.loginRateLimit?.windowMs ?? limits.login.windowMs,
    }),
    limits,
    streamLimiter: createConcurrencyLimiter({ what: 'event streams', ...limits.streams }),
    generationLimiter: createConcurrencyLimiter({ what: 'generations', ...limits.generations }),
    anonymousAudit,
    flushAnonymousAudit,
    exposureTokens: createExposureTokens(
      derivedServerKey(options, 'ab-test exposure tokens'),
      limits.exposureTokenTtlMs,
    ),
    predictors: new Map((options.predictors ?? []).map((predictor) => [predictor.id, predictor])),
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    uploadLimit: options.uploadLimit ?? DEFAULT_UPLOAD_LIMIT,
    startedAt: Date.now(),
    ready,
    draining: false,
    streams: new Set(),
    close() {
      closing ??= (async () => {
        clearInterval(flushTimer);
        history.close();
        await flushAnonymousAudit(true);
        await models.close();
      })();
      return closing;
    },
  };
}
