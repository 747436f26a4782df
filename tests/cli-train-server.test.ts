import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTinyGpt2 } from '@tunekit/trainer/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForOutput } from './fixtures/wait-for-output.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const bin = join(root, 'packages', 'server-adapter', 'bin', 'tunekit.js');
const builtCli = join(root, 'packages', 'server-adapter', 'dist', 'cli', 'index.js');
const trainData = join(root, 'examples', 'data', 'moby-dick.train.jsonl');
const validationData = join(root, 'examples', 'data', 'moby-dick.validation.jsonl');

let directory: string;
let serve: ChildProcess | undefined;
let url: string;
let credentials: Record<string, string>;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tunekit-cli-train-server-'));
  if (!existsSync(builtCli)) await run('npm', ['run', 'build'], { cwd: root });
  const model = await createTinyGpt2(join(directory, 'tiny-gpt2'));
  const serveConfig = join(directory, 'tunekit.json');
  await writeFile(
    serveConfig,
    JSON.stringify({
      dataDirectory: join(directory, 'server-data'),
      port: 0,
      server: { models: { 'tiny-served': { path: model, threads: 1 } } },
    }),
  );
  // A real `tunekit serve` child process: the CLI talks to it over HTTP only.
  serve = spawn(process.execPath, [bin, 'serve', '--config', serveConfig, '--log-level', 'warn'], {
    cwd: directory,
    env: { ...process.env, TUNEKIT_JWT_SECRET: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = await waitForOutput(serve, /password: \S+\n[\s\S]*\n\n/);
  url = /listening on (\S+)/.exec(output)?.[1] as string;
  credentials = {
    TUNEKIT_USERNAME: 'admin',
    TUNEKIT_PASSWORD: /password: (\S+)/.exec(output)?.[1] as string,
  };
}, 900_000);

afterAll(async () => {
  if (serve && serve.exitCode === null) {
    const exited = new Promise((resolve) => serve?.once('exit', resolve));
    serve.kill('SIGTERM');
    await exited;
  }
  if (directory) await rm(directory, { recursive: true, force: true });
});

/** Writes a training config for the served model. */
async function writeConfig(name: string, maxSteps: number): Promise<string> {
  const file = join(directory, `${name}.yaml`);
  await writeFile(
    file,
    [
      'baseModel: tiny-served',
      `dataset: ${trainData}`,
      `validation: ${validationData}`,
      'lora: { r: 4, alpha: 8 }',
      `hyperparameters: { maxSteps: ${maxSteps}, batchSize: 4, maxLength: 32, learningRate: 0.01, evalEvery: 5 }`,
      `registerAs: { name: ${name} }`,
    ].join('\n'),
  );
  return file;
}

/** Runs the real `tunekit` binary; resolves with its exit status and output. */
async function tunekit(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
      cwd: directory,
      env: { ...process.env, ...credentials, TUNEKIT_LOG_LEVEL: 'warn' },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

/** The job as the server shows it. */
async function remoteJob(jobId: string): Promise<{ status: string; attempt: number }> {
  const login = await fetch(`${url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: credentials.TUNEKIT_PASSWORD }),
  });
  const { access_token: token } = (await login.json()) as { access_token: string };
  const response = await fetch(`${url}/train/${jobId}`, { headers: { authorization: `Bearer ${token}` } });
  return (await response.json()) as { status: string; attempt: number };
}

type JsonEvent = {
  type: string;
  jobId?: string;
  step?: number;
  status?: string;
  metrics?: Record<string, number>;
};
const eventsOf = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as JsonEvent);

describe('tunekit train --server (a real `tunekit serve` child process)', () => {
  it('submits the config with the typed client, follows SSE with --json and plain lines, exits 0', async () => {
    const json = await tunekit(['train', await writeConfig('remote-json', 6), '--server', url, '--json']);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const events = eventsOf(json.stdout);
    expect(events[0]).toMatchObject({ type: 'submitted' });
    const jobId = events[0]?.jobId as string;
    expect(events.filter((event) => event.type === 'step').map((event) => event.step)).toEqual([
      1, 2, 3, 4, 5, 6,
    ]);
    // Metric names as a local run prints them (the wire's snake_case turned back).
    expect(events.find((event) => event.type === 'evaluated')?.metrics).toHaveProperty('validationLoss');
    expect(events.at(-1)).toMatchObject({ type: 'finished', jobId, status: 'succeeded' });
    expect((await remoteJob(jobId)).status).toBe('succeeded');

    const plain = await tunekit(['train', await writeConfig('remote-plain', 4), '--server', url]);
    expect(plain.code).toBe(0);
    expect(
      plain.stdout.match(/^step \d+\/4 {2}loss \d+\.\d{4} {2}lr [\d.e+-]+ {2}\d+ tok\/s/gm),
    ).toHaveLength(4);
    expect(plain.stdout).toMatch(/succeeded, 4 steps, final loss \d/);
    expect(plain.stdout).toContain('registered: remote-plain@1');
  }, 240_000);

  it('Ctrl-C stops the job on the server (exit 130); --resume --server continues it from its checkpoint', async () => {
    const child = spawn(
      process.execPath,
      [bin, 'train', await writeConfig('remote-interrupted', 40), '--server', url, '--json'],
      {
        cwd: directory,
        env: { ...process.env, ...credentials, TUNEKIT_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    let interrupted = false;
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (!interrupted && /"type":"step"/.test(output)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(130);
    const events = eventsOf(output);
    const jobId = events[0]?.jobId as string;
    expect(events.at(-1)).toMatchObject({ type: 'finished', jobId, status: 'interrupted' });
    const stopped = await remoteJob(jobId);
    expect(stopped.status).toBe('cancelled');
    const stoppedAt = Math.max(
      ...events.filter((event) => event.type === 'step').map((event) => event.step ?? 0),
    );

    const resumed = await tunekit(['train', '--resume', jobId, '--server', url, '--json']);
    expect(resumed.code).toBe(0);
    const after = eventsOf(resumed.stdout);
    expect(after[0]).toMatchObject({ type: 'submitted', jobId, resumed: true });
    const steps = after.filter((event) => event.type === 'step').map((event) => event.step as number);
    // From its checkpoint (the step it stopped at, or later), never from step 1 again.
    expect(steps[0]).toBeGreaterThan(1);
    expect(steps[0]).toBeGreaterThanOrEqual(stoppedAt);
    expect(steps.at(-1)).toBe(40);
    expect(after.at(-1)).toMatchObject({ type: 'finished', status: 'succeeded' });
    expect(await remoteJob(jobId)).toMatchObject({ status: 'succeeded', attempt: 2 });
  }, 240_000);

  it('refuses what a server cannot take (a local model folder) with exit 2, and a failed login with exit 1', async () => {
    const file = join(directory, 'local-model.yaml');
    await writeFile(file, `baseModel: ${join(directory, 'tiny-gpt2')}\ndataset: ${trainData}\n`);
    const local = await tunekit(['train', file, '--server', url]);
    expect(local.code).toBe(2);
    expect(local.stderr).toContain('baseModel names a model the server serves');

    const saved = credentials;
    credentials = { TUNEKIT_USERNAME: 'admin', TUNEKIT_PASSWORD: 'wrong-password' };
    try {
      const denied = await tunekit(['train', await writeConfig('remote-denied', 2), '--server', url]);
      expect(denied.code).toBe(1);
      expect(denied.stderr).toMatch(/Logging in as admin/);
    } finally {
      credentials = saved;
    }
  }, 120_000);
});
