import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { artifactNotFound } from './artifact-errors.js';
import type { ArtifactInfo, ArtifactStore } from './artifact-store.js';
import { parseArtifactPrefix, parseArtifactUri, toArtifactUri } from './artifact-uri.js';

interface MemoryArtifact {
  content: Uint8Array;
  info: ArtifactInfo;
}

async function collect(
  data: Uint8Array | string | Readable | AsyncIterable<Uint8Array>,
): Promise<Uint8Array> {
  if (typeof data === 'string') {
    return new Uint8Array(Buffer.from(data, 'utf8'));
  }
  if (data instanceof Uint8Array) {
    return new Uint8Array(data);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of data as AsyncIterable<Uint8Array | string>) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk));
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/**
 * An {@link ArtifactStore} in memory, for tests: same URI rules and errors as the filesystem
 * store, no `localPath`. A failed `put` leaves the previous content.
 */
export function createMemoryArtifactStore(): ArtifactStore {
  const artifacts = new Map<string, MemoryArtifact>();
  const find = (uri: string): MemoryArtifact => {
    const artifact = artifacts.get(parseArtifactUri(uri));
    if (artifact === undefined) throw artifactNotFound(uri);
    return artifact;
  };
  const store: ArtifactStore = {
    async put(uri, data) {
      let sourceError: Error | undefined;
      if (data instanceof Readable) {
        data.on('error', (error) => {
          sourceError ??= error;
        });
      }
      const path = parseArtifactUri(uri);
      const content = await collect(data);
      if (sourceError !== undefined) {
        throw sourceError;
      }
      const info: ArtifactInfo = {
        uri: toArtifactUri(path),
        size: content.byteLength,
        sha256: createHash('sha256').update(content).digest('hex'),
        modifiedAt: new Date().toISOString(),
      };
      artifacts.set(path, { content, info });
      return { ...info };
    },
    async get(uri) {
      return new Uint8Array(find(uri).content);
    },
    stream(uri) {
      try {
        return Readable.from([Buffer.from(find(uri).content)]);
      } catch (error) {
        const failed = new Readable({ read() {} });
        queueMicrotask(() => failed.destroy(error as Error));
        return failed;
      }
    },
    async exists(uri) {
      return artifacts.has(parseArtifactUri(uri));
    },
    async stat(uri) {
      const artifact = artifacts.get(parseArtifactUri(uri));
      return artifact === undefined ? undefined : { ...artifact.info };
    },
    async list(prefix) {
      const pathPrefix = parseArtifactPrefix(prefix);
      return [...artifacts.entries()]
        .filter(([path]) => path.startsWith(pathPrefix))
        .sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0))
        .map(([, artifact]) => ({ ...artifact.info }));
    },
    async delete(uri) {
      return artifacts.delete(parseArtifactUri(uri));
    },
    async deletePrefix(prefix) {
      const infos = await store.list(prefix);
      for (const info of infos) {
        artifacts.delete(parseArtifactUri(info.uri));
      }
      return infos.length;
    },
  };
  return store;
}
