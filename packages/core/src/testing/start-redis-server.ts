import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable } from './find-executable.js';
import { findFreePort } from './find-free-port.js';

/** A Redis server started for a test: where to connect and how to stop it (stop is idempotent). */
export interface RedisTestServer {
  /** Connection URL, `redis://127.0.0.1:<port>`. */
  readonly url: string;
  /** Stops the server and deletes its folder. */
  stop(): Promise<void>;
}

/** Why a Redis test skips when {@link startRedisServer} returns undefined. */
export const REDIS_SERVER_MISSING_REASON = 'redis-server not installed';

/** The `redis-server` binary on `$PATH`, or undefined. */
export function findRedisServer(): string | undefined {
  return findExecutable('redis-server');
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolvePing) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    socket.setTimeout(1_000);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => {
      answer += data.toString();
      if (answer.includes('\r\n')) {
        socket.destroy();
        resolvePing(answer.startsWith('+PONG'));
      }
    });
    socket.on('timeout', () => {
      socket.destroy();
      resolvePing(false);
    });
    socket.on('error', () => resolvePing(false));
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolveExit) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolveExit();
      return;
    }
    child.once('exit', () => resolveExit());
  });
}

/**
 * Starts a real `redis-server` on a free loopback port with its files in a temp folder (no
 * persistence), and waits until it answers PING. Returns undefined when `redis-server` is not
 * installed, so a test can skip with {@link REDIS_SERVER_MISSING_REASON}.
 *
 * @example
 * ```ts
 * const redis = await startRedisServer();
 * it.skipIf(!redis)(`works (skipped: ${REDIS_SERVER_MISSING_REASON})`, async () => { … });
 * afterAll(() => redis?.stop());
 * ```
 */
export async function startRedisServer(
  options: { timeoutMs?: number } = {},
): Promise<RedisTestServer | undefined> {
  const binary = findRedisServer();
  if (binary === undefined) {
    return undefined;
  }
  const timeoutMs = options.timeoutMs ?? 15_000;
  for (let attempt = 0; ; attempt += 1) {
    const directory = await mkdtemp(join(tmpdir(), 'tunekit-redis-'));
    const port = await findFreePort();
    const child = spawn(
      binary,
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', directory, '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout?.on('data', (data) => {
      output += data.toString();
    });
    child.stderr?.on('data', (data) => {
      output += data.toString();
    });
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited(child);
      }
      await rm(directory, { recursive: true, force: true });
    };
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && child.exitCode === null) {
      if (await ping(port)) {
        let stopping: Promise<void> | undefined;
        return {
          url: `redis://127.0.0.1:${port}`,
          stop: () => {
            stopping ??= stop();
            return stopping;
          },
        };
      }
      await new Promise((resolveWait) => setTimeout(resolveWait, 50));
    }
    await stop();
    // The port may have been taken between finding and binding it: try another one.
    if (attempt >= 2 || !/in use/i.test(output)) {
      throw new Error(`redis-server did not start on port ${port}: ${output.trim().slice(-2000)}`);
    }
  }
}
