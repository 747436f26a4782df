import { execFile } from 'node:child_process';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findExecutable } from './find-executable.js';
import { findFreePort } from './find-free-port.js';

const run = promisify(execFile);

/** Where PostgreSQL server binaries are looked for (Debian's layout first), unless overridden. */
export const POSTGRES_BINARY_DIRECTORIES = [
  '/usr/lib/postgresql/15/bin',
  '/usr/lib/postgresql/16/bin',
  '/usr/lib/postgresql/17/bin',
  '/usr/lib/postgresql/14/bin',
  '/usr/local/pgsql/bin',
];

/** Why a PostgreSQL test skips when {@link startPostgresServer} returns undefined. */
export const POSTGRES_SERVER_MISSING_REASON = 'PostgreSQL server (initdb, pg_ctl) not installed';

/** A PostgreSQL server started for a test: where to connect and how to stop it (stop is idempotent). */
export interface PostgresTestServer {
  /** Connection URI, `postgresql://postgres@127.0.0.1:<port>/postgres`. */
  readonly uri: string;
  /** Stops the server and deletes its folder. */
  stop(): Promise<void>;
}

/** Options of {@link startPostgresServer}. */
export interface StartPostgresServerOptions {
  /** Folder holding `initdb` and `pg_ctl` (default: the first of {@link POSTGRES_BINARY_DIRECTORIES} that has them, then `$PATH`). */
  binaryDirectory?: string;
  /** System user that owns and runs the cluster when this process is root (default `postgres`). */
  systemUser?: string;
}

/** The folder holding `initdb` and `pg_ctl`, or undefined when PostgreSQL is not installed. */
export function findPostgresBinaries(binaryDirectory?: string): string | undefined {
  const candidates = binaryDirectory ? [binaryDirectory] : POSTGRES_BINARY_DIRECTORIES;
  for (const directory of candidates) {
    if (findExecutable('initdb', [directory]) && findExecutable('pg_ctl', [directory])) {
      return directory;
    }
  }
  if (binaryDirectory === undefined) {
    const initdb = findExecutable('initdb');
    if (initdb && findExecutable('pg_ctl')) {
      return join(initdb, '..');
    }
  }
  return undefined;
}

async function userIds(user: string): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run('id', ['-u', user]), run('id', ['-g', user])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/**
 * Starts a real PostgreSQL cluster for a test: `initdb` into a temp folder (trust auth, no fsync)
 * and `pg_ctl start` on a free loopback port. `initdb` refuses to run as root, so when this
 * process is root the folder is given to the `postgres` system user and the binaries run as that
 * user (`runuser`). Returns undefined when the binaries are missing, so a test can skip with
 * {@link POSTGRES_SERVER_MISSING_REASON}. `stop()` shuts the server down and deletes the folder.
 *
 * @returns `{ uri, stop }` with `uri` like `postgresql://postgres@127.0.0.1:54321/postgres`.
 */
export async function startPostgresServer(
  options: StartPostgresServerOptions = {},
): Promise<PostgresTestServer | undefined> {
  const binaries = findPostgresBinaries(options.binaryDirectory);
  if (binaries === undefined) {
    return undefined;
  }
  const asRoot = process.getuid?.() === 0;
  const systemUser = options.systemUser ?? 'postgres';
  // As root, the cluster folder must be reachable by the postgres user: a private $TMPDIR may not be.
  const directory = await mkdtemp(join(asRoot ? '/tmp' : tmpdir(), 'tunekit-postgres-'));
  const dataDirectory = join(directory, 'data');
  const logFile = join(directory, 'server.log');
  const exec = async (binary: string, args: string[]) => {
    const command = join(binaries, binary);
    return asRoot
      ? run('runuser', ['-u', systemUser, '--', command, ...args], { timeout: 60_000 })
      : run(command, args, { timeout: 60_000 });
  };
  let started = false;
  const stop = async () => {
    if (started) {
      started = false;
      await exec('pg_ctl', ['-D', dataDirectory, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    }
    await rm(directory, { recursive: true, force: true });
  };
  try {
    if (asRoot) {
      const { uid, gid } = await userIds(systemUser);
      await chown(directory, uid, gid);
    }
    await exec('initdb', [
      '-D',
      dataDirectory,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-sync',
      '--no-instructions',
    ]);
    for (let attempt = 0; ; attempt += 1) {
      const port = await findFreePort();
      const serverOptions = `-p ${port} -k ${directory} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
      try {
        await exec('pg_ctl', [
          '-D',
          dataDirectory,
          '-l',
          logFile,
          '-o',
          serverOptions,
          '-w',
          '-t',
          '30',
          'start',
        ]);
        started = true;
        let stopping: Promise<void> | undefined;
        return {
          uri: `postgresql://postgres@127.0.0.1:${port}/postgres`,
          stop: () => {
            stopping ??= stop();
            return stopping;
          },
        };
      } catch (error) {
        // The port may have been taken between finding and binding it: try another one.
        if (attempt >= 2) {
          throw error;
        }
      }
    }
  } catch (error) {
    await stop();
    throw new Error(`PostgreSQL did not start: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}
