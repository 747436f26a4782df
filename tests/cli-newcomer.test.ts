import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForOutput } from './fixtures/wait-for-output.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const binLink = join(root, 'node_modules', '.bin', 'tunekit');
const builtCli = join(root, 'packages', 'server-adapter', 'dist', 'cli', 'index.js');

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tunekit-newcomer-'));
  // CI builds before testing; a checkout that was never built is built here, as a newcomer would.
  if (!existsSync(builtCli)) await run('npm', ['run', 'build'], { cwd: root });
}, 900_000);

afterAll(async () => {
  if (directory) await rm(directory, { recursive: true, force: true });
});

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('tunekit as a newcomer runs it after npm ci and npm run build', () => {
  it('npm linked the committed bin at install time, and `npx tunekit --version` prints the version', async () => {
    expect(realpathSync(binLink)).toBe(join(root, 'packages', 'server-adapter', 'bin', 'tunekit.js'));
    const { stdout } = await run('npx', ['--no-install', 'tunekit', '--version'], { cwd: root });
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("npm commands in the repository print no warning; onnxruntime-node's CUDA download is denied through allowScripts", async () => {
    // `onnxruntime-node-install=skip` in .npmrc made npm 11 print `Unknown project config` on every
    // npm and npx command; package.json's allowScripts denies the install script instead.
    const { stdout, stderr } = await run('npm', ['pkg', 'get', 'allowScripts'], { cwd: root });
    expect(stderr).toBe('');
    expect(JSON.parse(stdout)).toMatchObject({ 'onnxruntime-node': false });
    const version = await run('npx', ['--no-install', 'tunekit', '--version'], { cwd: root });
    expect(version.stderr).toBe('');
    // Every package with an install script is reviewed (npm plans to block unreviewed ones).
    const scripts = await run('npm', ['install-scripts', 'ls'], { cwd: root });
    expect(scripts.stdout).toContain('No packages with unreviewed install scripts');
  });

  it('`npm ci` prints no warning: a dry run resolves the lockfile and checks every engine, installing nothing', async () => {
    // `npm ci` compares each locked package's `engines` with this Node and only warns (EBADENGINE):
    // cookie 2.0.2 (fastify → light-my-request) wanted Node >= 22 on the Node 20 CI until package.json
    // overrode it to cookie 1.1 there. `--dry-run` stops before node_modules is touched.
    const install = await run(
      'npm',
      ['ci', '--dry-run', '--ignore-scripts', '--offline', '--no-audit', '--no-fund'],
      { cwd: root },
    );
    expect(install.stderr).not.toMatch(/npm warn/i);
  }, 120_000);

  it('answers a wrong command line with a message and a non-zero exit status', async () => {
    const unknown = await run(binLink, ['train-me'], { cwd: directory }).catch((error: unknown) => error);
    expect(unknown).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command "train-me"') });
    const badOption = await run(binLink, ['serve', '--prot', '1'], { cwd: directory }).catch(
      (error: unknown) => error,
    );
    expect(badOption).toMatchObject({ code: 2, stderr: expect.stringContaining("Unknown option '--prot'") });
  });

  it('says to build when the CLI is not built (the bin without dist/)', async () => {
    const unbuilt = join(directory, 'unbuilt', 'bin');
    await mkdir(unbuilt, { recursive: true });
    await copyFile(
      join(root, 'packages', 'server-adapter', 'bin', 'tunekit.js'),
      join(unbuilt, 'tunekit.js'),
    );
    const failure = await run(process.execPath, [join(unbuilt, 'tunekit.js'), '--version']).catch(
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({ code: 1, stderr: expect.stringContaining('npm run build') });
  });

  it('first `tunekit serve`: prints a one-time admin password and the UI URL; login and /ui/ work; Ctrl-C exits 0', async () => {
    const workspace = join(directory, 'project');
    await mkdir(workspace);
    const child = spawn(binLink, ['serve', '--port', '0'], {
      cwd: workspace,
      env: { ...process.env, TUNEKIT_JWT_SECRET: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let logs = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      logs += chunk.toString();
    });
    try {
      const output = await waitForOutput(child, /password: \S+\n[\s\S]*\n\n/);
      const url = /listening on (\S+)/.exec(output)?.[1] as string;
      const password = /password: (\S+)/.exec(output)?.[1] as string;
      expect(output).toContain(`Web UI: ${url}/ui/`);
      expect((await stat(join(workspace, '.tunekit', 'tunekit.sqlite'))).isFile()).toBe(true);
      expect((await stat(join(workspace, '.tunekit', 'jwt-secret'))).mode & 0o777).toBe(0o600);

      const login = await fetch(`${url}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password }),
      });
      expect(login.status).toBe(200);
      const { access_token: token } = (await login.json()) as { access_token: string };
      const me = await fetch(`${url}/auth/me`, { headers: { authorization: `Bearer ${token}` } });
      expect(await me.json()).toMatchObject({ id: 'admin', roles: ['admin'] });
      const ui = await fetch(`${url}/ui/`);
      expect(ui.status).toBe(200);
      expect(await ui.text()).toContain('<title>');

      child.kill('SIGINT');
      expect(await exitOf(child)).toBe(0);
      // pino JSON lines on stderr (not a terminal): one per request, with its status and latency.
      const requests = logs
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map(
          (line) => JSON.parse(line) as { msg?: string; url?: string; status?: number; latencyMs?: number },
        )
        .filter((line) => line.msg === 'request');
      expect(requests.find((line) => line.url === '/auth/login')).toMatchObject({ status: 200 });
      expect(requests.every((line) => typeof line.latencyMs === 'number')).toBe(true);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }

    // Second start: the same state, no new password printed, the first one still logs in.
    const again = spawn(binLink, ['serve', '--port', '0'], {
      cwd: workspace,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const output = await waitForOutput(again, /Web UI: \S+\n/);
      expect(output).not.toContain('password');
      again.kill('SIGTERM');
      expect(await exitOf(again)).toBe(0);
    } finally {
      if (again.exitCode === null) again.kill('SIGKILL');
    }
  }, 120_000);
});
