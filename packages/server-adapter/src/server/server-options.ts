import type { Predictor } from '@tunekit/core';
import type { AuthOptions } from '../auth/authenticator.js';
import type { LoginRateLimitOptions } from '../auth/login-rate-limiter.js';
import type { CreateUserInput } from '../auth/user-store.js';
import type { ServedModelInput } from '../inference/model-cache.js';
import type { ServerLimitsInput } from './server-limits.js';

/** Options shared by `tunekitFastify`, `tunekitExpress` and `createServer`. */
export interface TunekitServerOptions {
  /** Bearer tokens (HS256 secret, JWKS URL) and API keys. */
  auth?: AuthOptions;
  /** Users created at start when missing (e.g. a first admin). Passwords are stored scrypt-hashed. */
  users?: CreateUserInput[];
  /** Served models by id: local folders loaded lazily on first use and cached. */
  models?: Record<string, ServedModelInput>;
  /** Model of `/generate` and `/model/info` when the request names none. */
  defaultModel?: string;
  /** Classifiers for `POST /predict` (any core `Predictor` returning `label`/`probabilities`). */
  predictors?: Predictor[];
  /** Largest JSON body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** Largest dataset upload in bytes (default 256 MiB). */
  uploadLimit?: number;
  /**
   * Failed login attempts per client address (default `limits.login`: 30 per minute). Overrides
   * `limits.login.perAddress` and `windowMs` when set.
   */
  loginRateLimit?: LoginRateLimitOptions;
  /**
   * Secret of the server's own signatures (A/B exposure tokens), at least 32 characters. Default:
   * derived from `auth.jwtSecret`; without either, a random key per process (tokens then stop
   * verifying after a restart). `tunekit serve` reads `TUNEKIT_SIGNING_SECRET`.
   */
  signingSecret?: string;
  /** Quotas, timeouts and bounds on what callers control (see `ServerLimitsSchema`; safe defaults). */
  limits?: ServerLimitsInput;
  /** Service id of the model registry plugin (default `registry`). */
  registryService?: string;
  /** Name and version reported by `/`. */
  serviceName?: string;
  /** Serve the web UI at `<mount>/ui/` (default true; `false` leaves the path to the host app). */
  ui?: boolean;
}

/** Default JSON body limit: 1 MiB. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;
/** Default upload limit: 256 MiB. */
export const DEFAULT_UPLOAD_LIMIT = 256 * 1024 * 1024;
