import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

  it('first run in an empty folder: ./.tunekit state, a 0600 JWT secret, an admin with a one-time password', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'tunekit-first-run-'));
    const first = captureCliContext(directory);
    const running = await startServe(['--port', '0'], first);
    let secretMode: number;
    try {
      expect(running.dataDirectory).toBe(join(directory, '.tunekit'));
      expect((await stat(join(directory, '.tunekit', 'tunekit.sqlite'))).isFile()).toBe(true);
      secretMode = (await stat(join(directory, '.tunekit', 'jwt-secret'))).mode & 0o777;
      expect(secretMode).toBe(0o600);
      const password = /password: (\S+)/.exec(first.output())?.[1] as string;
      expect(password).toBe(running.firstAdmin?.password);
      expect(first.output()).toContain(`Web UI: ${running.url}/ui/`);
      expect((await logIn(running.url, 'admin', password)).status).toBe(200);
    } finally {
      await running.stop();
    }
    // Second run: same state, no new admin, nothing printed about passwords, the old one still works.
    const second = captureCliContext(directory);
    const again = await startServe(['--port', '0'], second);
    try {
      expect(again.firstAdmin).toBeUndefined();
      expect(second.output()).not.toContain('password');
      const password = running.firstAdmin?.password as string;
      expect((await logIn(again.url, 'admin', password)).status).toBe(200);
    } finally {
      await again.stop();
      await rm(directory, { recursive: true, force: true });
    }
  });
});
