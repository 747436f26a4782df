import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import {
  type Principal,
  PrincipalSchema,
  type Role,
  RoleSchema,
  TunekitError,
  tunekitError,
  type User,
} from '@tunekit/core';
import { createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';

/**
 * An API key: a secret sent as `X-API-Key` (or `Authorization: ApiKey …`) naming a principal. A key
 * bound to a `user` acts as that user and stops working when the user is disabled or deleted.
 */
export const ApiKeySchema = z
  .object({
    /** Principal id recorded on audit events (e.g. `ci-bot`); a user-bound key acts as its `user` instead. */
    name: z.string().min(1),
    /** The key itself, or its hex sha256 digest in `sha256` (preferred in config files). */
    key: z.string().min(16).optional(),
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
    /**
     * Roles of the key. Required without `user`; with `user` they narrow the user's current roles
     * (a listed role above the user's highest role is dropped), and default to them.
     */
    roles: z.array(RoleSchema).min(1).optional(),
    /** Username of the local user this key belongs to. */
    user: z.string().min(1).optional(),
  })
  .refine((entry) => entry.roles !== undefined || entry.user !== undefined, {
    message: 'an API key needs roles, or a user whose roles it takes',
    path: ['roles'],
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

/** Where the authenticator looks up local users (the server's user store). */
export interface UserLookup {
  get(username: string): Promise<User | undefined>;
}

/** Name of the login-token claim that binds a token to the credential of the user it was issued to. */
export const CREDENTIAL_CLAIM = 'cred';

/** Verifies credentials of a request and signs login tokens. */
export interface Authenticator {
  /** Whether it signs login tokens (a `jwtSecret` is configured). */
  readonly signsTokens: boolean;
  /** The principal of a request's headers, undefined without credentials; `UNAUTHENTICATED` when they are invalid. */
  authenticate(headers: Record<string, string | string[] | undefined>): Promise<Principal | undefined>;
  /** Signs an HS256 token for a principal (needs `jwtSecret`). */
  issueToken(principal: Principal): Promise<{ token: string; expiresIn: number }>;
  /**
   * Signs an HS256 login token for a local user (needs `jwtSecret`). It carries a `cred` claim bound
   * to the user record as it is now: once the record changes (password, roles, disabled) or the user
   * is deleted, the token is rejected (`UNAUTHENTICATED`, reason `revoked`).
   */
  issueUserToken(user: User): Promise<{ token: string; expiresIn: number }>;
}

/** Order of the built-in roles, lowest first (a user-bound API key never acts above its user). */
const roleRank: Readonly<Record<Role, number>> = { viewer: 0, user: 1, admin: 2 };

function unauthenticated(message: string, reason?: string): TunekitError {
  return tunekitError('UNAUTHENTICATED', message, reason ? { reason } : undefined);
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Creates the authenticator: bearer JWTs (HS256 secret and/or JWKS) and API keys. With `users`,
 * login tokens and user-bound API keys follow the current state of their user (see
 * {@link Authenticator.issueUserToken} and {@link ApiKeySchema}).
 */
export function createAuthenticator(raw: AuthOptions = {}, users?: UserLookup): Authenticator {
  const options = AuthOptionsSchema.parse(raw);
  const secret = options.jwtSecret ? new TextEncoder().encode(options.jwtSecret) : undefined;
  const jwks: JWTVerifyGetKey | undefined = options.jwksUrl
    ? createRemoteJWKSet(new URL(options.jwksUrl))
    : undefined;
  const keys = options.apiKeys.map((entry) => ({
    digest: entry.sha256 ? Buffer.from(entry.sha256, 'hex') : sha256(entry.key ?? ''),
    entry,
  }));

  /**
   * The credential fingerprint of a user record: it changes with every update of the record (its
   * storage version: password, roles, disabled …) and differs for a user deleted and created again
   * under the same name (creation time, random password salt).
   */
  const credentialOf = (user: User): string => {
    if (!secret) throw unauthenticated('Login needs a jwtSecret to sign tokens');
    return createHmac('sha256', secret)
      .update(`${user.id}\n${user.createdAt}\n${user.version}\n${user.passwordHash ?? ''}`)
      .digest('base64url')
      .slice(0, 22);
  };

  /** The principal of a login token whose user must still exist, be enabled and be unchanged since. */
  const principalOfUserToken = async (payload: JWTPayload, credential: string): Promise<Principal> => {
    if (!users) return principalOf(payload);
    const user = typeof payload.sub === 'string' ? await users.get(payload.sub) : undefined;
    const expected = user && !user.disabled ? Buffer.from(credentialOf(user)) : undefined;
    const given = Buffer.from(credential);
    if (!user || !expected || expected.length !== given.length || !timingSafeEqual(expected, given)) {
      throw unauthenticated(
        'The token was revoked (the user changed its password, was changed by an admin, or was deleted)',
        'revoked',
      );
    }
    return { id: user.id, roles: user.roles };
  };

  const principalOfKey = async (entry: ApiKey): Promise<Principal> => {
    if (entry.user === undefined || !users) {
      const parsed = PrincipalSchema.safeParse({ id: entry.user ?? entry.name, roles: entry.roles ?? [] });
      if (!parsed.success) throw unauthenticated('The API key has no roles');
      return parsed.data;
    }
    const user = await users.get(entry.user);
    if (!user || user.disabled) {
      throw unauthenticated("The API key's user is disabled or deleted", 'revoked');
    }
    const highest = Math.max(...user.roles.map((role) => roleRank[role]));
    const roles = (entry.roles ?? user.roles).filter((role) => roleRank[role] <= highest);
    if (roles.length === 0) throw unauthenticated("The API key's roles exceed its user's", 'revoked');
    return { id: user.id, roles };
  };

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
        const credential = payload[CREDENTIAL_CLAIM];
        return typeof credential === 'string'
          ? principalOfUserToken(payload, credential)
          : principalOf(payload);
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
    throw tunekitError('UNAUTHENTICATED', expired ? 'The token has expired' : 'The token is invalid', {
      reason: expired ? 'expired' : 'invalid',
    });
  };

  const sign = async (principal: Principal, claims: Record<string, string>) => {
    if (!secret) throw unauthenticated('Login needs a jwtSecret to sign tokens');
    let builder = new SignJWT({ ...claims, [options.rolesClaim]: principal.roles })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(principal.id)
      .setIssuedAt()
      .setExpirationTime(`${options.tokenTtlSeconds}s`);
    if (options.issuer) builder = builder.setIssuer(options.issuer);
    if (options.audience) builder = builder.setAudience(options.audience);
    return { token: await builder.sign(secret), expiresIn: options.tokenTtlSeconds };
  };

  return {
    signsTokens: secret !== undefined,
    async authenticate(headers) {
      const authorization = header(headers, 'authorization');
      const apiKey =
        header(headers, 'x-api-key') ??
        (authorization?.startsWith('ApiKey ') ? authorization.slice(7) : undefined);
      if (apiKey !== undefined) {
        const digest = sha256(apiKey.trim());
        const found = keys.find((entry) => timingSafeEqual(entry.digest, digest));
        if (!found) throw unauthenticated('The API key is invalid');
        return principalOfKey(found.entry);
      }
      if (authorization === undefined) return undefined;
      const match = /^Bearer\s+(\S+)$/i.exec(authorization);
      if (!match) throw unauthenticated('Authorization must be "Bearer <token>" or "ApiKey <key>"');
      // OpenAI-style clients send their API key as a bearer token: a value that is not a JWT
      // (three dot-separated parts) is looked up as an API key.
      if ((match[1] as string).split('.').length !== 3) {
        const digest = sha256((match[1] as string).trim());
        const found = keys.find((entry) => timingSafeEqual(entry.digest, digest));
        if (!found) throw unauthenticated('The bearer value is neither a token nor a known API key');
        return principalOfKey(found.entry);
      }
      if (!secret && !jwks) throw unauthenticated('This server accepts no bearer tokens');
      return verifyToken(match[1] as string);
    },
    issueToken: (principal) => sign(principal, {}),
    issueUserToken: (user) =>
      sign({ id: user.id, roles: user.roles }, { [CREDENTIAL_CLAIM]: credentialOf(user) }),
  };
}
