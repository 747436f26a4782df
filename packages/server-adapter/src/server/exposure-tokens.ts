import { createHmac, timingSafeEqual } from 'node:crypto';
import { type TunekitError, tunekitError } from '@tunekit/core';
import { z } from 'zod';

/** What an exposure token vouches for: the server assigned `unitId` of `testId` to `variant`, for `principal`. */
export const ExposureClaimsSchema = z
  .object({
    /** Test id. */
    t: z.string().min(1),
    /** Unit id. */
    u: z.string().min(1),
    /** Variant the server assigned. */
    v: z.string().min(1),
    /** Principal that asked for the assignment (only it may record with the token). */
    p: z.string().min(1),
    /** Expiry, milliseconds since the epoch. */
    e: z.number().int(),
  })
  .strict();

/** The claims inside an exposure token. */
export type ExposureClaims = z.infer<typeof ExposureClaimsSchema>;

/** What {@link ExposureTokens.verify} checks a token against. */
export interface ExposureExpectation {
  testId: string;
  unitId: string;
  principal: string;
}

/**
 * Signed A/B exposure tokens: `POST /ab-tests/{id}/assign` returns one, and recording an exposure or
 * outcome (`/ab-tests/{id}/record`, `/feedback` with `ab_test_id`) requires it unless the caller holds
 * `abtests:record`. A token is `v1.<claims as base64url JSON>.<HMAC-SHA256 of both>`, keyed with the
 * server's signing secret, so units the server never assigned (invented ids) cannot be given outcomes.
 */
export interface ExposureTokens {
  issue(claims: { testId: string; unitId: string; variant: string; principal: string }): {
    token: string;
    expiresAt: string;
  };
  /** Returns the claims, or throws `ABTEST_EXPOSURE_INVALID` (403) for a forged, expired or mismatched token. */
  verify(token: string, expected: ExposureExpectation): ExposureClaims;
}

const PREFIX = 'v1';

function invalid(reason: string, details: Record<string, unknown> = {}): TunekitError {
  return tunekitError('ABTEST_EXPOSURE_INVALID', `Invalid A/B exposure token: ${reason}`, {
    reason,
    ...details,
  });
}

/** Creates the signer over `key` (at least 32 bytes); tokens live `ttlMs`. */
export function createExposureTokens(
  key: Uint8Array,
  ttlMs: number,
  now: () => number = () => Date.now(),
): ExposureTokens {
  if (key.byteLength < 32) throw new RangeError('An exposure token key needs at least 32 bytes');
  const sign = (body: string) => createHmac('sha256', key).update(`${PREFIX}.${body}`).digest();
  return {
    issue({ testId, unitId, variant, principal }) {
      const expiry = now() + ttlMs;
      const claims: ExposureClaims = { t: testId, u: unitId, v: variant, p: principal, e: expiry };
      const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
      return {
        token: `${PREFIX}.${body}.${sign(body).toString('base64url')}`,
        expiresAt: new Date(expiry).toISOString(),
      };
    },
    verify(token, expected) {
      const parts = token.split('.');
      if (parts.length !== 3 || parts[0] !== PREFIX) throw invalid('not a v1 exposure token');
      const [, body = '', signature = ''] = parts;
      const given = Buffer.from(signature, 'base64url');
      const wanted = sign(body);
      if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
        throw invalid('the signature does not match (forged or from another server)');
      }
      let claims: ExposureClaims;
      try {
        claims = ExposureClaimsSchema.parse(JSON.parse(Buffer.from(body, 'base64url').toString('utf8')));
      } catch {
        throw invalid('malformed claims');
      }
      if (claims.t !== expected.testId) throw invalid('issued for another test', { testId: expected.testId });
      if (claims.u !== expected.unitId) throw invalid('issued for another unit', { unitId: expected.unitId });
      if (claims.p !== expected.principal) throw invalid('issued to another caller');
      if (claims.e <= now()) throw invalid('expired', { expiredAt: new Date(claims.e).toISOString() });
      return claims;
    },
  };
}
