import { createHash, randomBytes } from 'node:crypto';
import {
  type FileHandle,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
} from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { createKeyMutex } from '../storage/key-mutex.js';
import { artifactChecksumMismatch, artifactNotFound } from './artifact-errors.js';
import { createArtifactLookups } from './artifact-lookups.js';
import type { ArtifactInfo, ArtifactStore } from './artifact-store.js';
import { parseArtifactUri, RESERVED_NAME_PREFIX, toArtifactUri } from './artifact-uri.js';

/** Options of {@link createFileArtifactStore}. */
export interface FileArtifactStoreOptions {
  /** Root folder of the store (created when missing). */
  directory: string;
}

/** A filesystem {@link ArtifactStore}, with a local path for every URI and temp-file housekeeping. */
export interface FileArtifactStore extends ArtifactStore {
  /** Absolute root folder of the store (not named `directory`, which kit options read as `{ directory }`). */
  readonly rootDirectory: string;
  localPath(uri: string): string;
  /**
   * Deletes temp files left by writers that died mid-write (a killed process cannot clean up),
   * when they are older than `olderThanMs` (default one hour, so live writes in other processes
   * are left alone). Returns how many were removed.
   */
  removeStaleTemporaryFiles(olderThanMs?: number): Promise<number>;
}

/** Chunk size used when reading artifacts. */
const readChunkSize = 1024 * 1024;

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function* chunksOf(
  data: Uint8Array | string | Readable | AsyncIterable<Uint8Array>,
): AsyncIterable<Uint8Array> {
  if (typeof data === 'string') {
    yield Buffer.from(data, 'utf8');
    return;
  }
  if (data instanceof Uint8Array) {
    yield data;
    return;
  }
  for await (const chunk of data as AsyncIterable<Uint8Array | string>) {
    yield typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
  }
}

async function syncDirectory(directory: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch {
    // Some filesystems cannot fsync a directory; the rename itself is still atomic.
  } finally {
    await handle?.close();
  }
}

/**
 * An {@link ArtifactStore} on the local filesystem.
 *
 * `artifact://a/b.bin` lives at `<directory>/a/b.bin`, with its sha256 in a hidden sidecar
 * `<directory>/a/.tunekit-b.bin.sha256`. Writes stream into a temp file in the same folder, are
 * fsynced and then renamed over the target, so readers see the old or the new content, never a
 * part; a write that fails midway (the source stream errors) leaves the old content and no temp
 * file. Reads verify the checksum (`ARTIFACT_CHECKSUM_MISMATCH`). Renames of the content and its
 * sidecar happen under a per-URI lock, so readers in this process never pair new content with an
 * old checksum; another process may, for the microseconds between the two renames.
 */
export function createFileArtifactStore(options: FileArtifactStoreOptions): FileArtifactStore {
  const root = resolve(options.directory);
  const lock = createKeyMutex();
  const pathOf = (relative: string) => join(root, ...relative.split('/'));
  const sidecarOf = (absolute: string) =>
    join(dirname(absolute), `${RESERVED_NAME_PREFIX}${basename(absolute)}.sha256`);

  /** Opens the content and reads its recorded checksum as one consistent pair. */
  const openVerified = (uri: string) =>
    lock.run(uri, async () => {
      const absolute = pathOf(parseArtifactUri(uri));
      let handle: FileHandle;
      try {
        handle = await open(absolute, 'r');
      } catch (error) {
        if (isMissing(error)) {
          throw artifactNotFound(uri);
        }
        throw error;
      }
      try {
        const expected = (await readFile(sidecarOf(absolute), 'utf8')).trim();
        return { handle, expected };
      } catch (error) {
        await handle.close();
        if (isMissing(error)) {
          throw artifactChecksumMismatch(uri, '(missing checksum file)', '(not computed)');
        }
        throw error;
      }
    });

  const removeEmptyParents = async (absolute: string) => {
    let directory = dirname(absolute);
    while (directory !== root && directory.startsWith(root + sep)) {
      try {
        await rmdir(directory);
      } catch {
        return;
      }
      directory = dirname(directory);
    }
  };

  const infoOf = async (relative: string): Promise<ArtifactInfo | undefined> => {
    const absolute = pathOf(relative);
    try {
      const [stats, sha256] = await Promise.all([stat(absolute), readFile(sidecarOf(absolute), 'utf8')]);
      if (!stats.isFile()) {
        return undefined;
      }
      return {
        uri: toArtifactUri(relative),
        size: stats.size,
        sha256: sha256.trim(),
        modifiedAt: stats.mtime.toISOString(),
      };
    } catch (error) {
      if (isMissing(error)) {
        return undefined;
      }
      throw error;
    }
  };

  const walk = async (relativeDirectory: string, into: string[]): Promise<void> => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(relativeDirectory === '' ? root : pathOf(relativeDirectory), {
        withFileTypes: true,
      });
    } catch (error) {
      if (isMissing(error)) {
        return;
      }
      throw error;
    }
    for (const entry of entries) {
      if (entry.name.startsWith(RESERVED_NAME_PREFIX)) {
        continue;
      }
      const relative = relativeDirectory === '' ? entry.name : `${relativeDirectory}/${entry.name}`;
      if (entry.isDirectory()) {
        await walk(relative, into);
      } else if (entry.isFile()) {
        into.push(relative);
      }
    }
  };

  const store: FileArtifactStore = {
    rootDirectory: root,

    async put(uri, data) {
      // A stream that fails before we start reading it must reject this put, not crash the process.
      let sourceError: Error | undefined;
      if (data instanceof Readable) {
        data.on('error', (error) => {
          sourceError ??= error;
        });
      }
      const relative = parseArtifactUri(uri);
      const absolute = pathOf(relative);
      const directory = dirname(absolute);
      await mkdir(directory, { recursive: true });
      const suffix = `${process.pid}-${randomBytes(6).toString('hex')}`;
      const temporary = join(directory, `${RESERVED_NAME_PREFIX}tmp-${suffix}`);
      const temporarySidecar = join(directory, `${RESERVED_NAME_PREFIX}tmp-${suffix}.sha256`);
      const hash = createHash('sha256');
      let size = 0;
      let handle: FileHandle | undefined;
      try {
        handle = await open(temporary, 'wx');
        for await (const chunk of chunksOf(data)) {
          hash.update(chunk);
          size += chunk.byteLength;
          await handle.write(chunk);
        }
        if (sourceError !== undefined) {
          throw sourceError;
        }
        await handle.sync();
        await handle.close();
        handle = undefined;
        const sha256 = hash.digest('hex');
        const sidecar = await open(temporarySidecar, 'wx');
        try {
          await sidecar.writeFile(`${sha256}\n`);
          await sidecar.sync();
        } finally {
          await sidecar.close();
        }
        await lock.run(uri, async () => {
          await rename(temporary, absolute);
          await rename(temporarySidecar, sidecarOf(absolute));
        });
        await syncDirectory(directory);
        const stats = await stat(absolute);
        return { uri: toArtifactUri(relative), size, sha256, modifiedAt: stats.mtime.toISOString() };
      } catch (error) {
        await handle?.close().catch(() => undefined);
        await rm(temporary, { force: true });
        await rm(temporarySidecar, { force: true });
        throw error;
      }
    },

    async get(uri) {
      const { handle, expected } = await openVerified(uri);
      try {
        const content = await handle.readFile();
        const actual = createHash('sha256').update(content).digest('hex');
        if (actual !== expected) {
          throw artifactChecksumMismatch(uri, expected, actual);
        }
        return new Uint8Array(content.buffer, content.byteOffset, content.byteLength);
      } finally {
        await handle.close();
      }
    },

    stream(uri) {
      const output = new PassThrough();
      void (async () => {
        let opened: { handle: FileHandle; expected: string } | undefined;
        try {
          opened = await openVerified(uri);
          const hash = createHash('sha256');
          const input = opened.handle.createReadStream({ highWaterMark: readChunkSize, autoClose: false });
          for await (const chunk of input) {
            hash.update(chunk as Buffer);
            if (!output.write(chunk)) {
              await new Promise<void>((resolveDrain, rejectDrain) => {
                const onDrain = () => {
                  output.off('close', onClose);
                  resolveDrain();
                };
                const onClose = () => {
                  output.off('drain', onDrain);
                  rejectDrain(new Error('stream closed by the reader'));
                };
                output.once('drain', onDrain);
                output.once('close', onClose);
              });
            }
          }
          const actual = hash.digest('hex');
          if (actual !== opened.expected) {
            throw artifactChecksumMismatch(uri, opened.expected, actual);
          }
          output.end();
        } catch (error) {
          output.destroy(error as Error);
        } finally {
          await opened?.handle.close().catch(() => undefined);
        }
      })();
      return output;
    },

    ...createArtifactLookups({
      infoOf,
      async listPaths(pathPrefix) {
        // Start the walk at the deepest folder the prefix names.
        const slash = pathPrefix.lastIndexOf('/');
        const files: string[] = [];
        await walk(slash === -1 ? '' : pathPrefix.slice(0, slash), files);
        return files.filter((file) => file.startsWith(pathPrefix));
      },
    }),

    async delete(uri) {
      const absolute = pathOf(parseArtifactUri(uri));
      const deleted = await lock.run(uri, async () => {
        let existed = true;
        try {
          await unlink(absolute);
        } catch (error) {
          if (!isMissing(error)) {
            throw error;
          }
          existed = false;
        }
        await rm(sidecarOf(absolute), { force: true });
        return existed;
      });
      if (deleted) {
        await removeEmptyParents(absolute);
      }
      return deleted;
    },

    async deletePrefix(prefix) {
      const infos = await store.list(prefix);
      let deleted = 0;
      for (const info of infos) {
        if (await store.delete(info.uri)) {
          deleted += 1;
        }
      }
      return deleted;
    },

    localPath(uri) {
      return pathOf(parseArtifactUri(uri));
    },

    async removeStaleTemporaryFiles(olderThanMs = 60 * 60 * 1000) {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await readdir(root, { recursive: true, withFileTypes: true });
      } catch (error) {
        if (isMissing(error)) {
          return 0;
        }
        throw error;
      }
      const cutoff = Date.now() - olderThanMs;
      let removed = 0;
      for (const entry of entries) {
        if (!entry.isFile() || !entry.name.startsWith(`${RESERVED_NAME_PREFIX}tmp-`)) {
          continue;
        }
        // `parentPath` arrived in Node 20.12; `path` is its older name.
        const path = join(entry.parentPath ?? (entry as { path?: string }).path ?? root, entry.name);
        try {
          if ((await stat(path)).mtimeMs <= cutoff) {
            await unlink(path);
            removed += 1;
          }
        } catch (error) {
          if (!isMissing(error)) {
            throw error;
          }
        }
      }
      return removed;
    },
  };
  return store;
}
