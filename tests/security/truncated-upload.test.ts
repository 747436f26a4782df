import { connect } from 'node:net';
import { createTunekit, type Tunekit } from '@tunekit/core';
import { type AdapterName, startTestServer } from '@tunekit/server-adapter/testing';
import { afterEach, describe, expect, it } from 'vitest';

/** Sends raw bytes on a socket and returns whatever the server writes back until it closes or `waitMs` passes. */
async function rawRequest(
  url: string,
  payload: string,
  waitMs = 3_000,
  hangUpAfterMs?: number,
): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(received);
    }, waitMs);
    socket.on('data', (chunk) => {
      received += chunk.toString('utf8');
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      if (received) resolve(received);
      else reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    // The declared length matches the bytes sent: the request is complete, the form is not.
    socket.write(payload);
    if (hangUpAfterMs !== undefined) setTimeout(() => socket.destroy(), hangUpAfterMs);
  });
}

const adapters: AdapterName[] = ['fastify', 'express'];

describe.each(adapters)('a truncated multipart upload on %s', (adapter) => {
  let kit: Tunekit | undefined;
  let close: (() => Promise<void>) | undefined;

  afterEach(async () => {
    await close?.();
    await kit?.close();
  });

  async function start() {
    kit = await createTunekit({});
    const server = await startTestServer(adapter, kit, {
      auth: { jwtSecret: 'security-secret-of-at-least-thirty-two-chars', apiKeys: [] },
      users: [{ username: 'uploader', password: 'uploader-password', roles: ['user'] }],
    });
    close = server.close;
    const login = await fetch(`${server.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'uploader', password: 'uploader-password' }),
    });
    const { access_token: token } = (await login.json()) as { access_token: string };
    return { server, token };
  }

  it.each([
    ['multipart/form-data; boundary=cut', '/datasets/validate'],
    ['application/x-ndjson', '/datasets/validate'],
    ['multipart/form-data; boundary=cut', '/datasets?name=cut-short'],
    ['application/x-ndjson', '/datasets?name=cut-short'],
  ])(
    'a %s body to POST %s that the client abandons mid-way leaves the process serving',
    async (type, path) => {
      const { server, token } = await start();
      const body =
        type === 'application/x-ndjson'
          ? '{"text":"a"}\n{"text":"b'
          : '--cut\r\nContent-Disposition: form-data; name="file"; filename="a.jsonl"\r\n\r\n{"text":"a"}\n';
      const { pathname, host } = new URL(server.url);
      const head = [
        `POST ${pathname}${path} HTTP/1.1`,
        `Host: ${host}`,
        `Authorization: Bearer ${token}`,
        `Content-Type: ${type}`,
        'Content-Length: 100000',
        '',
        '',
      ].join('\r\n');
      await rawRequest(server.url, head + body, 1_000, 200);
      const live = await fetch(`${server.url}/live`);
      expect(live.status).toBe(200);
    },
  );

  it.each(['/datasets/validate', '/datasets'])(
    'POST %s answers 400 and the process keeps serving',
    async (path) => {
      const { server, token } = await start();
      const boundary = 'tunekitboundary';
      // ~100 bytes of a file part and no closing boundary.
      const body = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jsonl"\r\nContent-Type: application/x-ndjson\r\n\r\n{"text":"trunc`;
      const { pathname, host } = new URL(server.url);
      const query = path === '/datasets' ? '?name=truncated' : '';
      const head = [
        `POST ${pathname}${path}${query} HTTP/1.1`,
        `Host: ${host}`,
        `Authorization: Bearer ${token}`,
        `Content-Type: multipart/form-data; boundary=${boundary}`,
        `Content-Length: ${Buffer.byteLength(body)}`,
        'Connection: close',
        '',
        '',
      ].join('\r\n');
      const response = await rawRequest(server.url, head + body);
      expect(response).toMatch(/^HTTP\/1\.1 400 /);
      expect(response).toContain('VALIDATION_FAILED');
      // The process is still alive and serving.
      const live = await fetch(`${server.url}/live`);
      expect(live.status).toBe(200);
    },
  );
});
