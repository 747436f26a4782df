import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { Readable } from 'node:stream';
import type { ArtifactInfo, ArtifactStore } from '@tunekit/core';

const info = (uri: string, size: number): ArtifactInfo => ({
  uri,
  size,
  sha256: '',
  modifiedAt: new Date().toISOString(),
});

async function toBytes(data: Parameters<ArtifactStore['put']>[1]): Promise<Uint8Array> {
  if (typeof data === 'string') return new TextEncoder().encode(data);
  if (data instanceof Uint8Array) return new Uint8Array(data);
  const chunks: Uint8Array[] = [];
  for await (const chunk of data as AsyncIterable<Uint8Array>) chunks.push(chunk);
  return new Uint8Array(Buffer.concat(chunks));
}

/** Test double: an in-memory {@link ArtifactStore} without local paths. */
export function memoryArtifactStore(): ArtifactStore & { files: Map<string, Uint8Array> } {
  const files = new Map<string, Uint8Array>();
  return {
    files,
    async put(uri, data) {
      const bytes = await toBytes(data);
      files.set(uri, bytes);
      return info(uri, bytes.byteLength);
    },
    async get(uri) {
      const data = files.get(uri);
      if (!data) throw new Error(`missing ${uri}`);
      return data;
    },
    stream: (uri) => Readable.from([files.get(uri) ?? new Uint8Array()]),
    exists: async (uri) => files.has(uri),
    stat: async (uri) => (files.has(uri) ? info(uri, files.get(uri)?.byteLength ?? 0) : undefined),
    list: async (prefix) =>
      [...files.entries()]
        .filter(([uri]) => uri.startsWith(prefix))
        .map(([uri, data]) => info(uri, data.byteLength)),
    delete: async (uri) => files.delete(uri),
    async deletePrefix(prefix) {
      let count = 0;
      for (const uri of [...files.keys()]) if (uri.startsWith(prefix) && files.delete(uri)) count += 1;
      return count;
    },
  };
}

/** Test double: an {@link ArtifactStore} in a directory, with `localPath` (like the filesystem store). */
export function directoryArtifactStore(root: string): ArtifactStore {
  const path = (uri: string) => join(root, uri.replace(/^artifact:\/\//, ''));
  const walk = async (folder: string): Promise<string[]> => {
    const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
    const nested = await Promise.all(
      entries.map((entry) =>
        entry.isDirectory() ? walk(join(folder, entry.name)) : Promise.resolve([join(folder, entry.name)]),
      ),
    );
    return nested.flat();
  };
  return {
    async put(uri, data) {
      const target = path(uri);
      await mkdir(dirname(target), { recursive: true });
      const bytes = await toBytes(data);
      await writeFile(`${target}.tmp`, bytes);
      await rename(`${target}.tmp`, target);
      return info(uri, bytes.byteLength);
    },
    get: async (uri) => new Uint8Array(await readFile(path(uri))),
    stream: (uri) => createReadStream(path(uri)),
    exists: async (uri) =>
      stat(path(uri)).then(
        () => true,
        () => false,
      ),
    stat: async (uri) =>
      stat(path(uri)).then(
        (stats) => info(uri, stats.size),
        () => undefined,
      ),
    async list(prefix) {
      const files = await walk(root);
      return files
        .map((file) => `artifact://${relative(root, file)}`)
        .filter((uri) => uri.startsWith(prefix))
        .map((uri) => info(uri, 0));
    },
    delete: async (uri) =>
      rm(path(uri)).then(
        () => true,
        () => false,
      ),
    async deletePrefix(prefix) {
      await rm(path(prefix), { recursive: true, force: true });
      return 1;
    },
    localPath: path,
  };
}
