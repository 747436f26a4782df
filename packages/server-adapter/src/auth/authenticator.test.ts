import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from './authenticator.js';
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
