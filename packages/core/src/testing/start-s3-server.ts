import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from './find-free-port.js';

/** An S3-compatible server started for a test: endpoint, bucket, credentials, and how to stop it. */
export interface S3TestServer {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** A bucket created at start. */
  readonly bucket: string;
  /** s3rver's fixed credentials. */
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  /** Stops the server and deletes its folder (idempotent). */
  stop(): Promise<void>;
}

/** Why an S3 test skips when {@link startS3Server} returns undefined. */
export const S3_SERVER_MISSING_REASON = 's3rver (npm, a dev dependency) not installed';

/** The s3rver command-line script, or undefined when the package is not installed. */
export function findS3Server(): string | undefined {
  try {
    return createRequire(import.meta.url).resolve('s3rver/bin/s3rver.js');
  } catch {
    return undefined;
  }
}

/**
 * A `--import` module (a data: URL) that stops s3rver's filesystem store from removing a key's
 * folder when its last object is deleted. s3rver 3 does that cleanup without a lock: a delete that
 * empties `<prefix>/.tunekit-staging/` races a concurrent upload into the same folder, whose write
 * stream then fails with ENOENT as an unhandled error and kills the server (seen in CI with two
 * workers publishing checkpoints at once). S3 itself has no folders, so keeping them changes nothing
 * a client can see.
 */
const keepDirectoriesPatch = (script: string) =>
  `data:text/javascript,${encodeURIComponent(
    [
      `import { createRequire } from 'node:module';`,
      `const require = createRequire(${JSON.stringify(script)});`,
      `const FilesystemStore = require('../lib/stores/filesystem.js');`,
      `const { unlink } = require('fs-extra');`,
      `FilesystemStore.prototype.deleteObject = async function deleteObject(bucket, key) {`,
      `  await Promise.all(['object', 'object.md5', 'metadata.json'].map((kind) =>`,
      `    unlink(this.getResourcePath(bucket, key, kind)).catch((error) => {`,
      `      if (error.code !== 'ENOENT') throw error;`,
      `    })));`,
      `};`,
    ].join('\n'),
  )}`;

const answers = (port: number) =>
  new Promise<boolean>((resolveAnswer) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolveAnswer(true);
    });
    socket.once('error', () => resolveAnswer(false));
  });

const exited = (child: ChildProcess) =>
  new Promise<void>((resolveExit) => {
    if (child.exitCode !== null || child.signalCode !== null) resolveExit();
    else child.once('exit', () => resolveExit());
  });

/**
 * Starts `s3rver` (an S3-compatible server from npm, files in a temp folder) as its own process on
 * a free loopback port with one bucket, and waits until it accepts connections. Returns undefined
 * when s3rver is not installed, so a test can skip with {@link S3_SERVER_MISSING_REASON}.
 */
export async function startS3Server(
  options: { bucket?: string; timeoutMs?: number } = {},
): Promise<S3TestServer | undefined> {
  const script = findS3Server();
  if (script === undefined) return undefined;
  const bucket = options.bucket ?? 'tunekit-test';
  const directory = await mkdtemp(join(tmpdir(), 'tunekit-s3-'));
  const port = await findFreePort();
  const child = spawn(
    process.execPath,
    [
      '--import',
      keepDirectoriesPatch(script),
      script,
      '-d',
      directory,
      '-a',
      '127.0.0.1',
      '-p',
      String(port),
      '-s',
      '--configure-bucket',
      bucket,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let output = '';
  child.stderr?.on('data', (data) => {
    output += data.toString();
  });
  let stopping: Promise<void> | undefined;
  // A server that dies under a test shows up as ECONNREFUSED in the test: say why it died.
  child.once('exit', (code, signal) => {
    if (stopping === undefined) {
      process.stderr.write(
        `s3rver on port ${port} exited (${code ?? signal}) while in use: ${output.trim().slice(-4000)}\n`,
      );
    }
  });
  const stop = () => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited(child);
      }
      await rm(directory, { recursive: true, force: true });
    })();
    return stopping;
  };
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  while (Date.now() < deadline && child.exitCode === null) {
    if (await answers(port)) {
      return {
        endpoint: `http://127.0.0.1:${port}`,
        bucket,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
        stop,
      };
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
  }
  await stop();
  throw new Error(`s3rver did not start on port ${port}: ${output.trim().slice(-2000)}`);
}
