import { createHash, timingSafeEqual } from 'node:crypto';
import { type Principal, PrincipalSchema, type Role, RoleSchema, TunekitError } from '@tunekit/core';
import { createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';

/** An API key: a secret sent as `X-API-Key` (or `Authorization: ApiKey …`) naming a principal. */
export const ApiKeySchema = z.object({
  /** Principal id recorded on audit events (e.g. `ci-bot`). */
  name: z.string().min(1),
  /** The key itself, or its hex sha256 digest in `sha256` (preferred in config files). */
  key: z.string().min(16).optional(),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  roles: z.array(RoleSchema).min(1),
});

/** An API key entry. */
export type ApiKey = z.infer<typeof ApiKeySchema>;

/** Authentication options of the server adapter. */
export const AuthOptionsSchema = z
  .object({
    /** HS256 secret that signs login tokens and verifies bearer tokens (at least 32 characters). */
    jwtSecret: z.string().min(32).optional(),
    /** JWKS URL whose keys verify bearer tokens from an identity provider (RS256, ES256 …). */
    jwksUrl: z.url().optional(),
    /** Expected `iss` claim (checked when set). */
    issuer: z.string().optional(),
    /** Expected `aud` claim (checked when set). */
    audience: z.string().optional(),
    /** Claim holding the roles (default `roles`; a string or an array). */
    rolesClaim: z.string().default('roles'),
    /** Lifetime of login tokens in seconds (default 3600). */
    tokenTtlSeconds: z.number().int().positive().default(3600),
    /** API keys. */
    apiKeys: z.array(ApiKeySchema).default([]),
  })
  .strict();

/** Authentication options as callers write them. */
export type AuthOptions = z.input<typeof AuthOptionsSchema>;

/** Verifies credentials of a request and signs login tokens. */
export interface Authenticator {
  /** The principal of a request's headers, undefined without credentials; `UNAUTHENTICATED` when they are invalid. */
  authenticate(headers: Record<string, string | string[] | undefined>): Promise<Principal | undefined>;
  /** Signs an HS256 token for a principal (needs `jwtSecret`). */
  issueToken(principal: Principal): Promise<{ token: string; expiresIn: number }>;
}

function unauthenticated(message: string): TunekitError {
  return new TunekitError({ code: 'UNAUTHENTICATED', status: 401, message });
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Creates the authenticator: bearer JWTs (HS256 secret and/or JWKS) and API keys. */
export function createAuthenticator(raw: AuthOptions = {}): Authenticator {
  const options = AuthOptionsSchema.parse(raw);
  const secret = options.jwtSecret ? new TextEncoder().encode(options.jwtSecret) : undefined;
  const jwks: JWTVerifyGetKey | undefined = options.jwksUrl
    ? createRemoteJWKSet(new URL(options.jwksUrl))
    : undefined;
  const keys = options.apiKeys.map((entry) => ({
    digest: entry.sha256 ? Buffer.from(entry.sha256, 'hex') : sha256(entry.key ?? ''),
    principal: { id: entry.name, roles: entry.roles } satisfies Principal,
  }));

  const principalOf = (payload: JWTPayload): Principal => {
    const claim = payload[options.rolesClaim];
    const roles = (Array.isArray(claim) ? claim : typeof claim === 'string' ? [claim] : []).filter(
      (role): role is Role => RoleSchema.safeParse(role).success,
    );
    const parsed = PrincipalSchema.safeParse({ id: payload.sub, roles });
    if (!parsed.success) throw unauthenticated('The token names no subject or no known role');
    return parsed.data;
  };

  const verifyToken = async (token: string): Promise<Principal> => {
    const verifyOptions = { issuer: options.issuer, audience: options.audience };
    const failures: string[] = [];
    if (secret) {
      try {
        const { payload } = await jwtVerify(token, secret, { ...verifyOptions, algorithms: ['HS256'] });
        return principalOf(payload);
      } catch (error) {
        if (TunekitError.isInstance(error)) throw error;
        failures.push((error as { code?: string }).code ?? 'invalid');
      }
    }
    if (jwks) {
      try {
        const { payload } = await jwtVerify(token, jwks, verifyOptions);
        return principalOf(payload);
      } catch (error) {
        if (TunekitError.isInstance(error)) throw error;
        failures.push((error as { code?: string }).code ?? 'invalid');
      }
    }
    const expired = failures.includes('ERR_JWT_EXPIRED');
    throw new TunekitError({
      code: 'UNAUTHENTICATED',
      status: 401,
      message: expired ? 'The token has expired' : 'The token is invalid',
      details: { reason: expired ? 'expired' : 'invalid' },
    });
  };

  return {
    async authenticate(headers) {
      const authorization = header(headers, 'authorization');
      const apiKey =
        header(headers, 'x-api-key') ??
        (authorization?.startsWith('ApiKey ') ? authorization.slice(7) : undefined);
      if (apiKey !== undefined) {
        const digest = sha256(apiKey.trim());
        const found = keys.find((entry) => timingSafeEqual(entry.digest, digest));
        if (!found) throw unauthenticated('The API key is invalid');
        return found.principal;
      }
      if (authorization === undefined) return undefined;
      const match = /^Bearer\s+(\S+)$/i.exec(authorization);
      if (!match) throw unauthenticated('Authorization must be "Bearer <token>" or "ApiKey <key>"');
      if (!secret && !jwks) throw unauthenticated('This server accepts no bearer tokens');
      return verifyToken(match[1] as string);
    },
    async issueToken(principal) {
      if (!secret) {
        throw new TunekitError({
          code: 'UNAUTHENTICATED',
          status: 401,
          message: 'Login needs a jwtSecret to sign tokens',
        });
      }
      let builder = new SignJWT({ [options.rolesClaim]: principal.roles })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(principal.id)
        .setIssuedAt()
        .setExpirationTime(`${options.tokenTtlSeconds}s`);
      if (options.issuer) builder = builder.setIssuer(options.issuer);
      if (options.audience) builder = builder.setAudience(options.audience);
      return { token: await builder.sign(secret), expiresIn: options.tokenTtlSeconds };
    },
  };
}
