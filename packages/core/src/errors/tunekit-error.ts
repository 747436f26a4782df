import { type ErrorCode, ErrorCodes } from './error-codes.js';

const marker = Symbol.for('tunekit.error');

/** Options accepted by {@link TunekitError}. */
export interface TunekitErrorOptions {
  /** Stable machine-readable code, e.g. `PLUGIN_CYCLE` or `VALIDATION_FAILED`. */
  code: string;
  /** Human-readable message. */
  message: string;
  /**
   * HTTP status the server adapter answers with. Leave it out for a code of the catalogue
   * ({@link ErrorCodes}): the status is the catalogue's (use {@link tunekitError}). Only a code from
   * outside the catalogue (e.g. relayed from a remote server) sets it; it then defaults to 500.
   */
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
    this.status = options.status ?? catalogueStatus(options.code) ?? 500;
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

/** The catalogue's HTTP status for `code`, or `undefined` for a code outside the catalogue. */
function catalogueStatus(code: string): number | undefined {
  return Object.hasOwn(ErrorCodes, code) ? ErrorCodes[code as keyof typeof ErrorCodes].status : undefined;
}

/** Options of {@link tunekitError} beyond code, message and details. */
export interface TunekitErrorExtras {
  /** The underlying error, if any (kept as the error's `cause`). */
  cause?: unknown;
}

/**
 * Builds a {@link TunekitError} from the catalogue: the HTTP status is the one
 * {@link ErrorCodes} gives `code`, never typed at the throw site (as Fastify's `createError` does).
 *
 * @param code - a code of the catalogue, e.g. `'NOT_FOUND'`.
 * @param message - what went wrong, for a person.
 * @param details - structured details, safe to show to a caller (ids, failing fields …).
 * @example
 * ```ts
 * throw tunekitError('NOT_FOUND', `No model version "${reference}"`, { reference });
 * ```
 */
export function tunekitError(
  code: ErrorCode,
  message: string,
  details?: Record<string, unknown>,
  extras: TunekitErrorExtras = {},
): TunekitError {
  return new TunekitError({ code, message, details, cause: extras.cause });
}

/**
 * An error as another thread, process or server reported it (a worker's message, a problem+json
 * answer): its own code and HTTP status, which need not be in this copy's catalogue.
 */
export interface RelayedError {
  /** The code the other side reported (e.g. `NOT_FOUND`, or one only the remote server knows). */
  code: string;
  /** The HTTP status the other side reported. */
  status: number;
  /** What went wrong, as the other side said it. */
  message: string;
  /** Structured details the other side sent, if any. */
  details?: Record<string, unknown>;
}

/**
 * Rebuilds an error that another thread, process or server raised, keeping the code and status it
 * reported. The one way to give a {@link TunekitError} a status the catalogue did not pick: errors
 * raised here are built with {@link tunekitError}.
 *
 * @param relayed - the code, status, message and details the other side reported.
 * @example
 * ```ts
 * const problem = await response.json();
 * throw relayedTunekitError({ code: problem.code ?? 'REMOTE_FAILED', status: response.status, message: problem.detail });
 * ```
 */
export function relayedTunekitError(relayed: RelayedError, extras: TunekitErrorExtras = {}): TunekitError {
  return new TunekitError({ ...relayed, cause: extras.cause });
}
