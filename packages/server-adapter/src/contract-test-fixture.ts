import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTunekit,
  type Predictor,
  type TrainingJobInput,
  type Tunekit,
  trainingOutputUri,
} from '@tunekit/core';
import { registryPlugin } from '@tunekit/registry';
import { createModel } from '@tunekit/trainer';
import { afterAll, beforeAll, expect } from 'vitest';
import { type AdapterName, type RunningTestServer, startTestServer } from './testing/start-test-server.js';

// Test-only fixture of the HTTP contract tests (contract*.test.ts); not exported from the package.

/** The JWT secret of the contract server. */
export const secret = 'contract-test-secret-with-32-characters!';
/** An API key with role `user` (name `ci-bot`). */
export const apiKey = 'tk_contract_api_key_0123456789';
/** An API key bound to the user `erin`, who does not exist until a test creates her. */
export const erinKey = 'tk_contract_erin_key_0123456789';
/** The users the contract server starts with. */
export const users = [
  { username: 'admin', password: 'admin-password', roles: ['admin' as const] },
  { username: 'alice', password: 'alice-password', roles: ['user' as const] },
  { username: 'bob', password: 'bob-password-1', roles: ['user' as const] },
  { username: 'victor', password: 'victor-password', roles: ['viewer' as const] },
];

/** A kit with the registry and a stand-in `train` handler. */
export async function startKit(): Promise<Tunekit> {
  const kit = await createTunekit({ plugins: [registryPlugin()] });
  // A stand-in `train` handler (the real trainer runs in tests/e2e-client.test.ts): progress, then success.
  kit.jobs.register('train', async (input: TrainingJobInput, job) => {
    const steps = input.hyperparameters.maxSteps ?? 3;
    for (let step = 1; step <= steps; step++) {
      if (job.signal.aborted) throw job.signal.reason;
      await new Promise((resolve) => setTimeout(resolve, 20));
      job.progress(step / steps, { message: `step ${step}`, metrics: { step, loss: 1 / step } });
    }
    return { steps, output: trainingOutputUri(input, job.jobId) };
  });
  return kit;
}

/** A rule classifier standing in for a trained one (the predict pipeline is the trainer's). */
export function keywordClassifier(
  id: string,
  positive: RegExp,
): Predictor & { baseModel: string; language: string } {
  return {
    id,
    baseModel: 'rules',
    language: 'en',
    predict: ({ input }) => {
      const score = positive.test(String(input)) ? 0.9 : 0.2;
      return { probabilities: { positive: score, negative: 1 - score } };
    },
  };
}

/** The running contract server of one adapter and request helpers signed as its users. */
export interface ContractServer {
  readonly kit: Tunekit;
  readonly server: RunningTestServer;
  /** Folder of the real GPT-2 (byte-level, one layer) served as `tiny-gpt2`. */
  readonly gpt2Folder: string;
  /** Access tokens by username, filled before the tests run. */
  readonly tokens: Record<string, string>;
  /** `init` with the bearer token of `user`. */
  as(user: string, init?: RequestInit): RequestInit;
  /** A JSON request of `user`. */
  json(user: string, method: string, body: unknown): RequestInit;
  /** `fetch` against the server. */
  call(path: string, init?: RequestInit): Promise<Response>;
}

/**
 * Starts the contract server for `adapter` before the tests of the calling describe block (every
 * user logged in) and closes it after them.
 */
export function useContractServer(adapter: AdapterName): ContractServer {
  let kit: Tunekit | undefined;
  let server: RunningTestServer | undefined;
  let folder: string | undefined;
  const tokens: Record<string, string> = {};
  const as = (user: string, init: RequestInit = {}): RequestInit => ({
    ...init,
    headers: { authorization: `Bearer ${tokens[user]}`, ...(init.headers as Record<string, string>) },
  });
  const json = (user: string, method: string, body: unknown): RequestInit =>
    as(user, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const call = (path: string, init?: RequestInit) =>
    fetch(`${(server as RunningTestServer).url}${path}`, init);

  beforeAll(async () => {
    kit = await startKit();
    folder = await mkdtemp(join(tmpdir(), 'tunekit-contract-'));
    await createModel({
      architecture: 'gpt2',
      directory: join(folder, 'tiny-gpt2'),
      n_layer: 1,
      n_embd: 16,
      n_head: 2,
      n_positions: 32,
    });
    server = await startTestServer(adapter, kit, {
      auth: {
        jwtSecret: secret,
        apiKeys: [
          { name: 'ci-bot', key: apiKey, roles: ['user'] },
          { name: 'erin-laptop', key: erinKey, user: 'erin' },
        ],
      },
      users,
      bodyLimit: 64 * 1024,
      uploadLimit: 256 * 1024,
      loginRateLimit: { max: 50 },
      models: { tiny: { path: '/nonexistent/tiny-model' }, 'tiny-gpt2': { path: join(folder, 'tiny-gpt2') } },
      predictors: [
        keywordClassifier('keywords', /good|great|love/),
        keywordClassifier('always-negative', /$^/),
      ],
    });
    for (const user of users) {
      const response = await call(
        '/auth/login',
        json('none', 'POST', { username: user.username, password: user.password }),
      );
      expect(response.status).toBe(200);
      tokens[user.username] = ((await response.json()) as { access_token: string }).access_token;
    }
  });
  afterAll(async () => {
    await server?.close();
    await kit?.close();
    if (folder) await rm(folder, { recursive: true, force: true });
  });
  return {
    get kit() {
      return kit as Tunekit;
    },
    get server() {
      return server as RunningTestServer;
    },
    get gpt2Folder() {
      return join(folder as string, 'tiny-gpt2');
    },
    tokens,
    as,
    json,
    call,
  };
}
