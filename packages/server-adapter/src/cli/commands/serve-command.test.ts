import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTunekit } from '@tunekit/core';
import { describe, expect, it } from 'vitest';
import { captureCliContext } from '../testing/capture-cli-context.js';
import { startServe } from './serve-command.js';

async function logIn(url: string, username: string, password: string): Promise<Response> {
  return fetch(`${url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
}

describe('tunekit serve', () => {
  it('starts from a config file on 127.0.0.1, serves the API with its users, and stops', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'tunekit-serve-'));
    const config = join(directory, 'tunekit.json');
    await writeFile(
      config,
      JSON.stringify({
        port: 0,
        prefix: '/api',
        trainer: false,
        dataDirectory: join(directory, 'data'),
        server: {
          auth: { jwtSecret: 'cli-test-secret-of-at-least-32-chars' },
          users: [{ username: 'admin', password: 'admin-password', roles: ['admin'] }],
        },
      }),
    );
    const context = captureCliContext(directory);
    const running = await startServe(['--config', config], context);
    try {
      expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api$/);
      expect(context.output()).toContain(`listening on ${running.url}`);
      // Configured users exist: no first-run admin, no password printed.
      expect(running.firstAdmin).toBeUndefined();
      expect(context.output()).not.toContain('password');
      const login = await logIn(running.url, 'admin', 'admin-password');
      expect(login.status).toBe(200);
      // The registry plugin is loaded by default: the models routes (and the UI's Models page) work.
      const { access_token: token } = (await login.json()) as { access_token: string };
      const models = await fetch(`${running.url}/models`, { headers: { authorization: `Bearer ${token}` } });
      expect(models.status).toBe(200);
    } finally {
      await running.stop();
    }
    // An unknown key in the file is a coded validation error naming it.
    await writeFile(config, JSON.stringify({ port: 0, prot: 1 }));
    await expect(startServe(['--config', config], captureCliContext(directory))).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringContaining('prot'),
    });
    await rm(directory, { recursive: true, force: true });
  });

  it('first run in an empty folder: ./.tunekit state, a 0600 JWT secret and audit key, an admin with a one-time password', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'tunekit-first-run-'));
    const first = captureCliContext(directory);
    const running = await startServe(['--port', '0'], first);
    const auditKeyFile = join(directory, '.tunekit', 'audit-key');
    let secretMode: number;
    let auditKey: string;
    let head: Record<string, unknown>;
    try {
      expect(running.dataDirectory).toBe(join(directory, '.tunekit'));
      expect((await stat(join(directory, '.tunekit', 'tunekit.sqlite'))).isFile()).toBe(true);
      secretMode = (await stat(join(directory, '.tunekit', 'jwt-secret'))).mode & 0o777;
      expect(secretMode).toBe(0o600);
      // The audit chain is keyed by default: a key generated once, 0600, in its own file, printed.
      expect((await stat(auditKeyFile)).mode & 0o777).toBe(0o600);
      auditKey = (await readFile(auditKeyFile, 'utf8')).trim();
      expect(auditKey.length).toBeGreaterThanOrEqual(32);
      expect(first.output()).toContain(
        `Audit chain keyed with the key in ${auditKeyFile} (generated now, mode 0600)`,
      );
      const password = /password: (\S+)/.exec(first.output())?.[1] as string;
      expect(password).toBe(running.firstAdmin?.password);
      expect(first.output()).toContain(`Web UI: ${running.url}/ui/`);
      const login = await logIn(running.url, 'admin', password);
      expect(login.status).toBe(200);
      const admin = {
        authorization: `Bearer ${((await login.json()) as { access_token: string }).access_token}`,
      };
      // A keyed chain exports a signed head (503 AUDIT_KEY_MISSING without a key).
      const exported = await fetch(`${running.url}/audit/head`, { headers: admin });
      expect(exported.status).toBe(200);
      head = (await exported.json()) as Record<string, unknown>;
      const verified = await fetch(`${running.url}/audit/verify`, {
        method: 'POST',
        headers: { ...admin, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(await verified.json()).toMatchObject({ valid: true, keyed: true, unkeyed_events: 0 });
    } finally {
      await running.stop();
    }
    // Second run: same state, no new admin, nothing printed about passwords, the old one still works;
    // the same audit key (not regenerated): the chain and the head exported by the first run verify.
    const second = captureCliContext(directory);
    const again = await startServe(['--port', '0'], second);
    try {
      expect(again.firstAdmin).toBeUndefined();
      expect(second.output()).not.toContain('password');
      expect(second.output()).toContain(`Audit chain keyed with the key in ${auditKeyFile};`);
      expect((await readFile(auditKeyFile, 'utf8')).trim()).toBe(auditKey);
      const password = running.firstAdmin?.password as string;
      const login = await logIn(again.url, 'admin', password);
      expect(login.status).toBe(200);
      const admin = {
        authorization: `Bearer ${((await login.json()) as { access_token: string }).access_token}`,
      };
      const verified = await fetch(`${again.url}/audit/verify`, {
        method: 'POST',
        headers: { ...admin, 'content-type': 'application/json' },
        body: JSON.stringify({ head }),
      });
      expect(await verified.json()).toMatchObject({ valid: true, keyed: true, unkeyed_events: 0 });
    } finally {
      await again.stop();
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('an explicit TUNEKIT_AUDIT_KEY wins over the generated key file', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'tunekit-audit-key-'));
    const context = captureCliContext(directory, {
      env: { TUNEKIT_AUDIT_KEY: 'an-explicit-audit-key-of-at-least-32-chars' },
    });
    const running = await startServe(['--port', '0'], context);
    try {
      expect(context.output()).toContain('Audit chain keyed with TUNEKIT_AUDIT_KEY.');
      await expect(stat(join(directory, '.tunekit', 'audit-key'))).rejects.toMatchObject({ code: 'ENOENT' });
      // Something is audited (a login) so that the chain has keyed links to check.
      expect((await logIn(running.url, 'admin', running.firstAdmin?.password as string)).status).toBe(200);
    } finally {
      await running.stop();
    }
    // The chain verifies with that key, and not with another one.
    const withKey = async (key: string) => {
      const kit = await createTunekit({ dataDirectory: running.dataDirectory, audit: { key } });
      try {
        return await kit.audit.verify();
      } finally {
        await kit.close();
      }
    };
    try {
      expect(await withKey('an-explicit-audit-key-of-at-least-32-chars')).toMatchObject({
        valid: true,
        keyed: true,
        unkeyedEvents: 0,
      });
      expect((await withKey('another-audit-key-of-at-least-32-chars!!')).valid).toBe(false);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
