import { createTunekit, type Tunekit } from '@tunekit/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTunekitClient } from './client/create-tunekit-client.js';
import { apiKey, erinKey, secret, useContractServer } from './contract-test-fixture.js';
import { type AdapterName, type RunningTestServer, startTestServer } from './testing/start-test-server.js';

describe.each<AdapterName>(['fastify', 'express'])('HTTP contract (%s adapter, loopback)', (adapter) => {
  const fixture = useContractServer(adapter);
  const { tokens, as, json, call } = fixture;
  let kit: Tunekit;
  let server: RunningTestServer;
  beforeAll(() => {
    kit = fixture.kit;
    server = fixture.server;
  });

  it('manages users (admin only): list without hashes, create, 409, 400, 404, role change, disable, delete', async () => {
    const admin = createTunekitClient({ baseUrl: server.url, token: tokens.admin });
    const listed = await call('/users', as('admin'));
    expect(listed.status).toBe(200);
    const text = await listed.text();
    expect(text).not.toContain('passwordHash');
    expect(text).not.toContain('$scrypt$');
    const { items } = JSON.parse(text) as { items: Array<{ username: string; has_password: boolean }> };
    expect(items.map((user) => user.username)).toEqual(expect.arrayContaining(['admin', 'alice', 'victor']));
    expect(items.every((user) => user.has_password)).toBe(true);
    expect((await admin.GET('/users', { params: { query: { limit: 2 } } })).data?.items).toHaveLength(2);
    for (const user of ['alice', 'victor']) expect((await call('/users', as(user))).status).toBe(403);
    expect((await call('/users', { headers: { 'x-api-key': apiKey } })).status).toBe(403);
    expect((await call('/users')).status).toBe(401);
    const denied = await call(
      '/users',
      json('alice', 'POST', { username: 'mallory', password: 'Tulip-Garden-42', roles: ['admin'] }),
    );
    expect(denied.status).toBe(403);
    expect(
      await kit.audit.query({ actor: 'alice', action: 'http.createUser', outcome: 'denied' }),
    ).toMatchObject({
      items: [expect.objectContaining({ requestId: expect.any(String) })],
    });

    const created = await admin.POST('/users', {
      body: { username: 'carol', password: 'Tulip-Garden-42', roles: ['user'], display_name: 'Carol' },
    });
    expect(created.response.status).toBe(201);
    expect(created.data).toMatchObject({
      username: 'carol',
      roles: ['user'],
      disabled: false,
      has_password: true,
    });
    expect(JSON.stringify(created.data)).not.toContain('scrypt');
    const login = async (username: string, password: string) => {
      const response = await call('/auth/login', json('none', 'POST', { username, password }));
      return response.status === 200
        ? ((await response.json()) as { access_token: string }).access_token
        : response.status;
    };
    const carol = await login('carol', 'Tulip-Garden-42');
    expect(typeof carol).toBe('string');
    const carolMe = () => call('/auth/me', { headers: { authorization: `Bearer ${carol}` } });
    expect(await (await carolMe()).json()).toMatchObject({ id: 'carol', roles: ['user'] });

    const duplicate = await admin.POST('/users', {
      body: { username: 'carol', password: 'Another-Garden-7', roles: ['viewer'] },
    });
    expect(duplicate.response.status).toBe(409);
    expect(duplicate.error).toMatchObject({ code: 'USER_EXISTS', status: 409 });
    const invalid: Array<[unknown, string]> = [
      [{ username: 'dave', password: 'short', roles: ['user'] }, 'password'],
      [{ username: 'dave', password: 'aaaaabbbbbaaaaa', roles: ['user'] }, 'password'],
      [{ username: 'dave', password: 'dave-is-my-name', roles: ['user'] }, 'password'],
      [{ username: 'Dave Smith', password: 'Tulip-Garden-42', roles: ['user'] }, 'username'],
      [{ username: 'dave', password: 'Tulip-Garden-42', roles: [] }, 'roles'],
      [{ username: 'dave', password: 'Tulip-Garden-42', roles: ['root'] }, 'roles.0'],
      [{ username: 'dave', password: 'Tulip-Garden-42', roles: ['user'], passwordHash: '$scrypt$x' }, ''],
    ];
    for (const [body, path] of invalid) {
      const response = await call('/users', json('admin', 'POST', body));
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(await response.json()).toMatchObject({
        code: 'VALIDATION_FAILED',
        issues: expect.arrayContaining([expect.objectContaining({ path: expect.stringContaining(path) })]),
      });
    }
    expect(await kit.audit.query({ resourceId: 'dave' })).toEqual({ items: [] });
    expect((await call('/users/nobody', json('admin', 'PATCH', { disabled: true }))).status).toBe(404);
    const missing = await call('/users/nobody', as('admin', { method: 'DELETE' }));
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'NOT_FOUND' });
    expect((await call('/users/carol', json('admin', 'PATCH', {}))).status).toBe(400);
    expect((await call('/users/carol', json('admin', 'PATCH', { roles: ['user'], extra: 1 }))).status).toBe(
      400,
    );

    // A role change ends the sessions issued before it; a new login carries the new role.
    const demoted = await admin.PATCH('/users/{username}', {
      params: { path: { username: 'carol' } },
      body: { roles: ['viewer'] },
    });
    expect(demoted.data).toMatchObject({ roles: ['viewer'] });
    const revoked = await carolMe();
    expect(revoked.status).toBe(401);
    expect(await revoked.json()).toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'revoked' } });
    const viewerToken = await login('carol', 'Tulip-Garden-42');
    expect(
      await (await call('/auth/me', { headers: { authorization: `Bearer ${viewerToken}` } })).json(),
    ).toMatchObject({
      roles: ['viewer'],
    });
    // Disabled: no login, tokens rejected, and they stay rejected once enabled again.
    await admin.PATCH('/users/{username}', {
      params: { path: { username: 'carol' } },
      body: { disabled: true },
    });
    expect(await login('carol', 'Tulip-Garden-42')).toBe(401);
    expect((await call('/auth/me', { headers: { authorization: `Bearer ${viewerToken}` } })).status).toBe(
      401,
    );
    await admin.PATCH('/users/{username}', {
      params: { path: { username: 'carol' } },
      body: { disabled: false },
    });
    expect((await call('/auth/me', { headers: { authorization: `Bearer ${viewerToken}` } })).status).toBe(
      401,
    );
    const again = await login('carol', 'Tulip-Garden-42');
    expect(typeof again).toBe('string');
    const deleted = await admin.DELETE('/users/{username}', { params: { path: { username: 'carol' } } });
    expect(deleted.data).toEqual({ username: 'carol', deleted: true });
    expect(await login('carol', 'Tulip-Garden-42')).toBe(401);
    expect((await call('/auth/me', { headers: { authorization: `Bearer ${again}` } })).status).toBe(401);
    // Created again under the same name, tokens of the earlier carol stay dead.
    await admin.POST('/users', {
      body: { username: 'carol', password: 'Tulip-Garden-42', roles: ['viewer'] },
    });
    expect((await call('/auth/me', { headers: { authorization: `Bearer ${again}` } })).status).toBe(401);
  });

  it('refuses to delete, disable or demote the last enabled admin (409 LAST_ADMIN)', async () => {
    const admin = createTunekitClient({ baseUrl: server.url, token: tokens.admin });
    const attempts = [
      await call('/users/admin', as('admin', { method: 'DELETE' })),
      await call('/users/admin', json('admin', 'PATCH', { disabled: true })),
      await call('/users/admin', json('admin', 'PATCH', { roles: ['user'] })),
    ];
    for (const response of attempts) {
      expect(response.status).toBe(409);
      expect(await response.json()).toMatchObject({ code: 'LAST_ADMIN', details: { username: 'admin' } });
    }
    expect((await admin.GET('/auth/me')).data).toMatchObject({ id: 'admin', roles: ['admin'] });
    // With a second admin, one of the two may go; then the other is the last again.
    await admin.POST('/users', {
      body: { username: 'dana', password: 'Second-Admin-99', roles: ['admin', 'user'] },
    });
    const dana = createTunekitClient({ baseUrl: server.url });
    await dana.login('dana', 'Second-Admin-99');
    expect(
      (
        await dana.PATCH('/users/{username}', {
          params: { path: { username: 'dana' } },
          body: { roles: ['user'] },
        })
      ).response.status,
    ).toBe(200);
    expect((await call('/users/admin', as('admin', { method: 'DELETE' }))).status).toBe(409);
    expect(
      (await admin.DELETE('/users/{username}', { params: { path: { username: 'dana' } } })).response.status,
    ).toBe(200);
  });

  it("stops a user's API key while the user is missing or disabled, and after deletion", async () => {
    const withKey = () => call('/auth/me', { headers: { 'x-api-key': erinKey } });
    expect((await withKey()).status).toBe(401);
    const admin = createTunekitClient({ baseUrl: server.url, token: tokens.admin });
    await admin.POST('/users', { body: { username: 'erin', password: 'Snowy-Owl-2024', roles: ['user'] } });
    expect(await (await withKey()).json()).toMatchObject({ id: 'erin', roles: ['user'] });
    await admin.PATCH('/users/{username}', {
      params: { path: { username: 'erin' } },
      body: { disabled: true },
    });
    const disabled = await withKey();
    expect(disabled.status).toBe(401);
    expect(await disabled.json()).toMatchObject({ details: { reason: 'revoked' } });
    await admin.PATCH('/users/{username}', {
      params: { path: { username: 'erin' } },
      body: { disabled: false, roles: ['viewer'] },
    });
    expect(await (await withKey()).json()).toMatchObject({ id: 'erin', roles: ['viewer'] });
    await admin.DELETE('/users/{username}', { params: { path: { username: 'erin' } } });
    expect((await withKey()).status).toBe(401);
  });

  it('changes the own password: needs the current one, checks strength, revokes older tokens', async () => {
    const admin = createTunekitClient({ baseUrl: server.url, token: tokens.admin });
    await admin.POST('/users', {
      body: { username: 'frank', password: 'Blue-Lagoon-11', roles: ['user'] },
    });
    const frank = createTunekitClient({ baseUrl: server.url });
    const oldToken = await frank.login('frank', 'Blue-Lagoon-11');
    const change = (body: unknown, user = oldToken) =>
      call('/users/me/password', {
        method: 'POST',
        headers: { authorization: `Bearer ${user}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const wrong = await change({ current_password: 'not-the-password', new_password: 'Green-Meadow-22' });
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toMatchObject({ code: 'CURRENT_PASSWORD_INCORRECT' });
    for (const newPassword of ['short', 'xxxxxyyyyyxxxxx', 'my-name-is-frank', 'Blue-Lagoon-11']) {
      const weak = await change({ current_password: 'Blue-Lagoon-11', new_password: newPassword });
      expect(weak.status).toBe(400);
      expect(await weak.json()).toMatchObject({
        code: 'VALIDATION_FAILED',
        issues: [expect.objectContaining({ path: 'new_password' })],
      });
    }
    expect((await change({ new_password: 'Green-Meadow-22' })).status).toBe(400);
    await frank.changePassword('Blue-Lagoon-11', 'Green-Meadow-22');
    expect((await frank.GET('/auth/me')).data).toMatchObject({ id: 'frank', roles: ['user'] });
    const stale = await call('/auth/me', { headers: { authorization: `Bearer ${oldToken}` } });
    expect(stale.status).toBe(401);
    expect(await stale.json()).toMatchObject({ details: { reason: 'revoked' } });
    const oldLogin = await call(
      '/auth/login',
      json('none', 'POST', { username: 'frank', password: 'Blue-Lagoon-11' }),
    );
    expect(oldLogin.status).toBe(401);
    await frank.login('frank', 'Green-Meadow-22');
    // Principals that are not local users have no password here; anonymous callers are rejected.
    const keyCaller = await call('/users/me/password', {
      method: 'POST',
      headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ current_password: 'whatever', new_password: 'Green-Meadow-33' }),
    });
    expect(keyCaller.status).toBe(404);
    expect((await call('/users/me/password', json('none', 'POST', {}))).status).toBe(401);
    // The store audits what reached it; the schema's rejections are the HTTP layer's single events.
    const events = await kit.audit.query({
      action: 'user.password.change',
      resourceId: 'frank',
      order: 'asc',
    });
    expect(events.items.map((event) => [event.actor, event.outcome, event.details.code])).toEqual([
      ['frank', 'denied', 'CURRENT_PASSWORD_INCORRECT'],
      ['frank', 'failure', 'VALIDATION_FAILED'],
      ['frank', 'failure', 'VALIDATION_FAILED'],
      ['frank', 'success', undefined],
    ]);
    const rejected = await kit.audit.query({ action: 'http.changeOwnPassword', actor: 'frank' });
    expect(rejected.items.map((event) => event.outcome)).toEqual(['failure', 'failure', 'failure']);
  });
});

describe('login rate limiting', () => {
  it.each<AdapterName>(['fastify', 'express'])(
    'answers 429 with Retry-After past the limit (%s)',
    async (adapter) => {
      const kit = await createTunekit({});
      const server = await startTestServer(adapter, kit, {
        auth: { jwtSecret: secret },
        loginRateLimit: { max: 3, windowMs: 60_000 },
      });
      try {
        const statuses: number[] = [];
        for (let attempt = 0; attempt < 5; attempt++) {
          const response = await fetch(`${server.url}/auth/login`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ username: 'nobody', password: 'guess-guess' }),
          });
          statuses.push(response.status);
          if (response.status === 429) expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
        }
        expect(statuses).toEqual([401, 401, 401, 429, 429]);
      } finally {
        await server.close();
        await kit.close();
      }
    },
  );
});
