import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runServe } from './tunekit-serve.js';

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
    const lines: string[] = [];
    const log = console.log;
    console.log = (line: string) => lines.push(line);
    let stop: (() => Promise<void>) | undefined;
    try {
      stop = await runServe(['serve', '--config', config]);
    } finally {
      console.log = log;
    }
    try {
      const url = /listening on (\S+)/.exec(lines.join('\n'))?.[1] as string;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api$/);
      const login = await fetch(`${url}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: 'admin-password' }),
      });
      expect(login.status).toBe(200);
      // The registry plugin is loaded by default: the models routes (and the UI's Models page) work.
      const { access_token: token } = (await login.json()) as { access_token: string };
      const models = await fetch(`${url}/models`, { headers: { authorization: `Bearer ${token}` } });
      expect(models.status).toBe(200);
    } finally {
      await stop?.();
      await rm(directory, { recursive: true, force: true });
    }
    await expect(runServe(['serve', '--config', config])).rejects.toThrow();
  });
});
