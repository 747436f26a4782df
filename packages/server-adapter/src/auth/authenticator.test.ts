import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { User } from '@tunekit/core';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeySchema, createAuthenticator } from './authenticator.js';
import { createLoginRateLimiter } from './login-rate-limiter.js';
import { hashPassword, verifyPassword } from './password-hash.js';

describe('password hashing', () => {
  it('stores scrypt PHC strings with a random salt and verifies only the right password', async () => {
    const first = await hashPassword('correct horse battery');
    const second = await hashPassword('correct horse battery');
    expect(first).toMatch(/^\$scrypt\$ln=14,r=8,p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(first).not.toBe(second);
    expect(await verifyPassword('correct horse battery', first)).toBe(true);
    expect(await verifyPassword('correct horse batterz', first)).toBe(false);
    expect(await verifyPassword('anything', '$argon2id$v=19$whatever')).toBe(false);
    await expect(hashPassword('short')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});

describe('authenticator', () => {
  let jwks: Server;
  let jwksUrl: string;
  let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'test-key', alg: 'ES256', use: 'sig' };
    jwks = createServer((_request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  afterAll(() => new Promise<void>((resolve) => jwks.close(() => resolve())));

  it('verifies identity-provider tokens against a JWKS URL, with issuer and audience', async () => {
    const authenticator = createAuthenticator({ jwksUrl, issuer: 'https://idp.test', audience: 'tunekit' });
    const sign = (claims: Record<string, unknown>, issuer = 'https://idp.test') =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: 'test-key' })
        .setSubject('carol')
        .setIssuer(issuer)
        .setAudience('tunekit')
        .setExpirationTime('5m')
        .sign(privateKey);
    expect(
      await authenticator.authenticate({
        authorization: `Bearer ${await sign({ roles: ['viewer', 'unknown-role'] })}`,
      }),
    ).toEqual({
      id: 'carol',
      roles: ['viewer'],
    });
    await expect(
      authenticator.authenticate({
        authorization: `Bearer ${await sign({ roles: ['admin'] }, 'https://evil.test')}`,
      }),
    ).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
    await expect(
      authenticator.authenticate({ authorization: `Bearer ${await sign({ roles: [] })}` }),
    ).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
  });

  it('issues HS256 login tokens it accepts, and API keys given as sha256 digests', async () => {
    const key = 'tk_digest_key_0123456789';
    const authenticator = createAuthenticator({
      jwtSecret: 'a-secret-that-is-at-least-32-characters',
      apiKeys: [{ name: 'ci', sha256: createHash('sha256').update(key).digest('hex'), roles: ['user'] }],
    });
    const { token, expiresIn } = await authenticator.issueToken({ id: 'dave', roles: ['user'] });
    expect(expiresIn).toBe(3600);
    expect(await authenticator.authenticate({ authorization: `Bearer ${token}` })).toEqual({
      id: 'dave',
      roles: ['user'],
    });
    expect(await authenticator.authenticate({ 'x-api-key': key })).toEqual({ id: 'ci', roles: ['user'] });
    expect(await authenticator.authenticate({ authorization: `ApiKey ${key}` })).toEqual({
      id: 'ci',
      roles: ['user'],
    });
    expect(await authenticator.authenticate({})).toBeUndefined();
    await expect(authenticator.authenticate({ authorization: 'Basic abc' })).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
    await expect(
      authenticator.authenticate({ authorization: `Bearer ${token.slice(0, -2)}xx` }),
    ).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
  });
});

describe('login tokens and API keys of local users', () => {
  const secret = 'a-secret-that-is-at-least-32-characters';
  const stored = new Map<string, User>();
  const lookup = { get: async (username: string) => stored.get(username) };
  const user = (username: string, roles: User['roles'], changes: Partial<User> = {}): User => ({
    id: username,
    username,
    passwordHash: '$scrypt$ln=14,r=8,p=1$c2FsdA$aGFzaA',
    roles,
    disabled: false,
    createdAt: '2025-01-01T00:00:00.000Z',
    version: 0,
    ...changes,
  });

  it('accepts a login token only while its user exists, is enabled and is unchanged', async () => {
    const authenticator = createAuthenticator({ jwtSecret: secret }, lookup);
    stored.set('ivy', user('ivy', ['user']));
    const { token } = await authenticator.issueUserToken(stored.get('ivy') as User);
    const bearer = { authorization: `Bearer ${token}` };
    expect(await authenticator.authenticate(bearer)).toEqual({ id: 'ivy', roles: ['user'] });
    for (const changed of [
      user('ivy', ['user'], { version: 1 }),
      user('ivy', ['user'], { disabled: true }),
      user('ivy', ['user'], { passwordHash: '$scrypt$ln=14,r=8,p=1$b3RoZXI$aGFzaA' }),
      user('ivy', ['user'], { createdAt: '2025-02-01T00:00:00.000Z' }),
    ]) {
      stored.set('ivy', changed);
      await expect(authenticator.authenticate(bearer)).rejects.toMatchObject({
        code: 'UNAUTHENTICATED',
        details: { reason: 'revoked' },
      });
    }
    stored.delete('ivy');
    await expect(authenticator.authenticate(bearer)).rejects.toMatchObject({
      details: { reason: 'revoked' },
    });
    // Without a user lookup (a bare authenticator), the token's claims decide.
    expect(await createAuthenticator({ jwtSecret: secret }).authenticate(bearer)).toEqual({
      id: 'ivy',
      roles: ['user'],
    });
  });

  it('lets a user-bound API key act as its user, never above the user, and not without the user', async () => {
    const authenticator = createAuthenticator(
      {
        apiKeys: [
          {
            name: 'jay-admin-key',
            key: 'tk_jay_admin_key_0123456789',
            user: 'jay',
            roles: ['admin', 'viewer'],
          },
          { name: 'jay-key', key: 'tk_jay_plain_key_0123456789', user: 'jay' },
        ],
      },
      lookup,
    );
    const adminKey = { 'x-api-key': 'tk_jay_admin_key_0123456789' };
    const plainKey = { 'x-api-key': 'tk_jay_plain_key_0123456789' };
    await expect(authenticator.authenticate(plainKey)).rejects.toMatchObject({
      details: { reason: 'revoked' },
    });
    stored.set('jay', user('jay', ['admin']));
    expect(await authenticator.authenticate(adminKey)).toEqual({ id: 'jay', roles: ['admin', 'viewer'] });
    stored.set('jay', user('jay', ['user']));
    expect(await authenticator.authenticate(adminKey)).toEqual({ id: 'jay', roles: ['viewer'] });
    expect(await authenticator.authenticate(plainKey)).toEqual({ id: 'jay', roles: ['user'] });
    stored.set('jay', user('jay', ['user'], { disabled: true }));
    await expect(authenticator.authenticate(plainKey)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(ApiKeySchema.safeParse({ name: 'nobody', key: 'tk_nobody_key_0123456789' }).success).toBe(false);
  });
});

describe('login rate limiter', () => {
  it('allows max attempts per window per key, then answers RATE_LIMITED until the window ends', () => {
    let now = 0;
    const limiter = createLoginRateLimiter({ max: 2, windowMs: 1000 }, () => now);
    limiter.hit('a');
    limiter.hit('a');
    limiter.hit('b');
    expect(() => limiter.hit('a')).toThrow(
      expect.objectContaining({ code: 'RATE_LIMITED', details: { retryAfterSeconds: 1 } }),
    );
    now = 1000;
    expect(() => limiter.hit('a')).not.toThrow();
  });
});
