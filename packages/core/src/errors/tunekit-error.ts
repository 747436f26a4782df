const marker = Symbol.for('tunekit.error');

/** Options accepted by {@link TunekitError}. */
export interface TunekitErrorOptions {
  /** Stable machine-readable code, e.g. `PLUGIN_CYCLE` or `VALIDATION_FAILED`. */
  code: string;
  /** Human-readable message. */
  message: string;
  /** HTTP status the server adapter answers with (defaults to 500). */
  status?: number;
  /** Structured details (failing fields, ids …), safe to show to a caller. */
  details?: Record<string, unknown>;
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * Base class of every error Tunekit throws on purpose.
 *
 * Detect it with {@link TunekitError.isInstance} rather than `instanceof`: the check works across
 * duplicated copies of the package (a `Symbol.for` marker), as in the Vercel AI SDK.
 */
export class TunekitError extends Error {
  /** Marker read by {@link TunekitError.isInstance} (works across package copies). */
  readonly [marker] = true;
  /** Stable machine-readable code. */
  readonly code: string;
  /** HTTP status code for this failure. */
  readonly status: number;
  /** Structured details. */
  readonly details: Record<string, unknown>;

  constructor(options: TunekitErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TunekitError';
    this.code = options.code;
    this.status = options.status ?? 500;
    this.details = options.details ?? {};
  }

  /** True when `value` is a TunekitError from any copy of this package. */
  static isInstance(value: unknown): value is TunekitError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[marker] === true;
  }

  /** A plain object for logs and HTTP problem documents. */
  toJSON(): {
    name: string;
    code: string;
    status: number;
    message: string;
    details: Record<string, unknown>;
  } {
    return {
      name: this.name,
      code: this.code,
      status: this.status,
      message: this.message,
      details: this.details,
    };
  }
}
