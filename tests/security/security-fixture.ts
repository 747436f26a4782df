import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTunekit, type Tunekit, type TunekitOptions } from '@tunekit/core';
import { registryPlugin } from '@tunekit/registry';
import type { ServerLimitsInput, TunekitServerOptions } from '@tunekit/server-adapter';
import { type AdapterName, type RunningTestServer, startTestServer } from '@tunekit/server-adapter/testing';

/** Both adapters: every security test runs against each. */
export const adapters: AdapterName[] = ['fastify', 'express'];

/** Passwords of the fixture's users (username → password). */
export const passwords = {
  admin: 'admin-password-1',
  alice: 'alice-password-1',
  bob: 'bob-password-1',
  viewer: 'viewer-password-1',
} as const;

/** A running server over a fresh kit, with users, a served model folder and a fake `train` handler. */
export interface SecurityFixture {
  kit: Tunekit;
  server: RunningTestServer;
  url: string;
  directory: string;
  /** Bearer header of a fixture user. */
  as(user: keyof typeof passwords): Promise<Record<string, string>>;
  /** A dataset version id uploaded by alice. */
  datasetVersionId: string;
  /** Runs a training job of `user` to success and returns its output folder (`artifact://…`). */
  finishedJobOutput(user: keyof typeof passwords): Promise<{ jobId: string; output: string }>;
  close(): Promise<void>;
}

/**
 * Starts the API on `adapter` with four users (admin, alice, bob, viewer), a served model `tiny`
 * (an empty folder: routes that only describe it work, loading it fails) and a `train` job handler
 * that runs until cancelled or `finish` is set in its input (no trainer needed).
 */
export async function startSecurityFixture(
  adapter: AdapterName,
  limits: ServerLimitsInput = {},
  options: TunekitServerOptions = {},
  kitOptions: Pick<TunekitOptions, 'audit'> = {},
): Promise<SecurityFixture> {
  const directory = await mkdtemp(join(tmpdir(), 'tunekit-security-'));
  const modelFolder = join(directory, 'tiny');
  await mkdir(modelFolder);
  const kit = await createTunekit({
    dataDirectory: join(directory, 'kit'),
    plugins: [registryPlugin()],
    ...kitOptions,
  });
  kit.jobs.register<{ hyperparameters?: { maxSteps?: number } }, { output: string }>(
    'train',
    async (input, context) => {
      // maxSteps 1 finishes at once (a "finished" job); anything else runs until aborted.
      if (input.hyperparameters?.maxSteps === 1) {
        // Each job writes into its own output folder, as the trainer does.
        const output = `artifact://models/out/${context.jobId}`;
        await kit.artifacts.put(`${output}/adapter_config.json`, '{}');
        return { output };
      }
      await new Promise((_resolve, reject) => {
        context.signal.addEventListener('abort', () => reject(context.signal.reason), { once: true });
      });
      return { output: '' };
    },
  );
  const server = await startTestServer(adapter, kit, {
    auth: { jwtSecret: 'security-secret-of-at-least-thirty-two-chars' },
    users: [
      { username: 'admin', password: passwords.admin, roles: ['admin'] },
      { username: 'alice', password: passwords.alice, roles: ['user'] },
      { username: 'bob', password: passwords.bob, roles: ['user'] },
      { username: 'viewer', password: passwords.viewer, roles: ['viewer'] },
    ],
    models: { tiny: { path: modelFolder } },
    ...options,
    limits: { login: { perAddress: 1000, perAccount: 1000 }, ...limits },
  });
  const tokens = new Map<string, string>();
  const as = async (user: keyof typeof passwords) => {
    let token = tokens.get(user);
    if (!token) {
      const response = await fetch(`${server.url}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: user, password: passwords[user] }),
      });
      token = ((await response.json()) as { access_token: string }).access_token;
      tokens.set(user, token);
    }
    return { authorization: `Bearer ${token}` };
  };
  const upload = await fetch(`${server.url}/datasets?name=alice-data`, {
    method: 'POST',
    headers: { ...(await as('alice')), 'content-type': 'application/x-ndjson' },
    body: '{"text":"one"}\n{"text":"two"}\n',
  });
  const datasetVersionId = ((await upload.json()) as { id: string }).id;
  return {
    kit,
    server,
    url: server.url,
    directory,
    as,
    datasetVersionId,
    async finishedJobOutput(user) {
      const accepted = await call(
        `${server.url}/train`,
        'POST',
        await as(user),
        trainBody(datasetVersionId, { hyperparameters: { max_steps: 1 } }),
      );
      if (accepted.status !== 202) throw new Error(`POST /train answered ${accepted.status}`);
      const jobId = String(accepted.body.job_id);
      const job = await kit.jobs.wait(jobId, { timeoutMs: 20_000 });
      return { jobId, output: String((job.output as { output: string }).output) };
    },
    async close() {
      await server.close();
      await kit.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** A `POST /train` body on the fixture's model and dataset. */
export function trainBody(datasetVersionId: string, extra: Record<string, unknown> = {}) {
  return { base_model: 'tiny', dataset_version_id: datasetVersionId, output_name: 'out', ...extra };
}

/** JSON request helper: returns status, headers and parsed body. */
export async function call(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { text };
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/**
 * Writes `head` and then `bodyBytes` bytes of body in `chunkBytes` chunks on a raw socket, and
 * resolves with what the server answered (status line and all) once it answers or closes, or after
 * `waitMs`, with `sent` the body bytes written by then.
 */
export async function rawExchange(
  url: string,
  head: string,
  options: { bodyBytes: number; chunkBytes?: number; chunkDelayMs?: number; waitMs: number },
): Promise<{ response: string; sent: number; elapsedMs: number }> {
  const { hostname, port } = new URL(url);
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let response = '';
    let sent = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ response, sent, elapsedMs: Date.now() - started });
    };
    const timer = setTimeout(finish, options.waitMs);
    socket.on('data', (chunk) => {
      response += chunk.toString('utf8');
      if (/\r\n\r\n/.test(response)) setTimeout(finish, 50);
    });
    socket.on('error', finish);
    socket.on('close', finish);
    const chunk = Buffer.alloc(options.chunkBytes ?? 64 * 1024, 0x20);
    const writeMore = () => {
      if (done) return;
      while (sent < options.bodyBytes) {
        const slice = chunk.subarray(0, Math.min(chunk.length, options.bodyBytes - sent));
        sent += slice.length;
        const flushed = socket.write(slice);
        if (options.chunkDelayMs) {
          setTimeout(writeMore, options.chunkDelayMs);
          return;
        }
        if (!flushed) {
          socket.once('drain', writeMore);
          return;
        }
      }
    };
    socket.write(head, writeMore);
  });
}
