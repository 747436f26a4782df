import { totalmem } from 'node:os';
import { z } from 'zod';

/** Default of `limits.jobMemoryLimitMb`: half of this machine's memory, at most 4 096 MiB. */
export function defaultJobMemoryLimitMb(): number {
  return Math.min(4096, Math.floor(totalmem() / 2 / (1024 * 1024)));
}

const concurrency = (perUser: number, total: number) =>
  z
    .object({
      /** At most this many at once per principal. */
      perUser: z.number().int().min(1).default(perUser),
      /** At most this many at once over all principals. */
      total: z.number().int().min(1).default(total),
    })
    .strict()
    .prefault({});

/**
 * Every bound the server puts on what a caller controls, in one place (`limits` of the server
 * options). Each has a safe default; docs/security.md explains each and the attack it bounds.
 * Past a quota the server answers 429 `RATE_LIMITED` with `Retry-After`; past a size 413; past a
 * schema bound 400 `VALIDATION_FAILED`.
 */
export const ServerLimitsSchema = z
  .object({
    /** Whole request (headers and body) must arrive within this many ms (default 120 000; 0 = none). */
    requestTimeoutMs: z.number().int().min(0).default(120_000),
    /** Request headers must arrive within this many ms (default 20 000). */
    headersTimeoutMs: z.number().int().min(1).default(20_000),
    /** Idle keep-alive connections close after this many ms (default 5 000). */
    keepAliveTimeoutMs: z.number().int().min(1).default(5_000),
    /** Open connections the standalone server accepts (default 1 024; further ones are refused). */
    maxConnections: z.number().int().min(1).default(1024),
    /** Deepest nesting of arrays/objects in a JSON body (default 32): deeper answers 400. */
    maxJsonDepth: z.number().int().min(2).max(1000).default(32),
    /** Training jobs queued or running (per user and in all). */
    activeJobs: concurrency(5, 100),
    /** Wall-clock limit of one training job in ms (default 6 h); past it the job fails with `JOB_TIMEOUT`. */
    jobTimeLimitMs: z
      .number()
      .int()
      .min(1000)
      .default(6 * 60 * 60 * 1000),
    /**
     * Memory one training job may use, in MiB (default half of the machine's memory, at most
     * 4 096; `tunekit serve` reads `TUNEKIT_JOB_MEMORY_LIMIT_MB`). A job whose estimate (model
     * weights + 16 bytes per trainable parameter + activations) is larger is refused at submit with
     * 422 `JOB_MEMORY_LIMIT`; a running job whose process memory grows past it is stopped and fails
     * with `JOB_MEMORY_LIMIT` while the server keeps serving.
     */
    jobMemoryLimitMb: z.number().int().min(1).default(defaultJobMemoryLimitMb),
    /** Open Server-Sent Event streams (job events, streamed generations). */
    streams: concurrency(8, 256),
    /** Generations (`/generate`, `/v1/chat/completions`, `/v1/completions`) running at once. */
    generations: concurrency(2, 16),
    /** How long an A/B exposure token from `POST /ab-tests/{id}/assign` is accepted (default 30 days). */
    exposureTokenTtlMs: z
      .number()
      .int()
      .min(1000)
      .default(30 * 24 * 60 * 60 * 1000),
    /** Training bounds checked on `POST /train` and `POST /rlhf`. */
    training: z
      .object({
        maxSteps: z.number().int().min(1).default(100_000),
        maxEpochs: z.number().min(1).default(100),
        maxLoraRank: z.number().int().min(1).default(256),
        maxBatchSize: z.number().int().min(1).default(256),
        maxSequenceLength: z.number().int().min(2).default(8192),
      })
      .strict()
      .prefault({}),
    /** Login attempts in a window: per client address and per account (one address cannot lock everyone out). */
    login: z
      .object({
        windowMs: z.number().int().min(1000).default(60_000),
        /** Attempts per address per window (default 30: a shared NAT still logs in). */
        perAddress: z.number().int().min(1).default(30),
        /** Attempts per account per window, from any address (default 10). */
        perAccount: z.number().int().min(1).default(10),
      })
      .strict()
      .prefault({}),
    /**
     * Audit events of anonymous failures (401s, bad bodies without credentials) per client address
     * per minute (default 20). Past it, failures are counted and written as one `http.suppressed`
     * event per address and minute instead of one event each, so a flood cannot grow the log.
     */
    anonymousAuditPerMinute: z.number().int().min(0).default(20),
    /**
     * Addresses (or CIDR ranges) of reverse proxies whose `X-Forwarded-For` is trusted (default
     * none: the socket address is the client). Used by the standalone server; with Express set the
     * host app's `trust proxy` to the same list.
     */
    trustedProxies: z.array(z.string().min(1)).default([]),
  })
  .strict();

/** Server limits as callers write them (every field optional). */
export type ServerLimitsInput = z.input<typeof ServerLimitsSchema>;
/** Server limits with defaults applied. */
export type ServerLimits = z.output<typeof ServerLimitsSchema>;
