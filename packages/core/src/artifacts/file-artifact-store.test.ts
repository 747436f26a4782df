import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { TunekitError } from '../errors/tunekit-error.js';
import { describeArtifactStoreCompliance } from '../testing/describe-artifact-store-compliance.js';
import type { ArtifactStore } from './artifact-store.js';
import { createFileArtifactStore } from './file-artifact-store.js';
import { createMemoryArtifactStore } from './memory-artifact-store.js';

const roots: string[] = [];
afterAll(() => Promise.all(roots.map((root) => rm(root, { recursive: true, force: true }))));
async function newRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'tunekit-artifacts-'));
  roots.push(root);
  return root;
}

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');
const text = (data: Uint8Array) => Buffer.from(data).toString('utf8');
async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return TunekitError.isInstance(error) ? error.code : `untyped: ${String(error)}`;
  }
  return 'no error';
}
async function readStream(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
async function allFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
}

const stores: Array<[string, () => Promise<ArtifactStore>]> = [
  ['file', async () => createFileArtifactStore({ directory: await newRoot() })],
  ['memory', async () => createMemoryArtifactStore()],
];

for (const [name, createStore] of stores) {
  describeArtifactStoreCompliance(name, createStore);
}

describe('file artifact store', () => {
  it('keeps content at localPath with a checksum sidecar, hidden from list, and prunes empty folders', async () => {
    const root = await newRoot();
    const store = createFileArtifactStore({ directory: root });
    await store.put('artifact://deep/er/file.txt', 'content');
    const path = store.localPath?.('artifact://deep/er/file.txt') as string;
    expect(path).toBe(join(root, 'deep', 'er', 'file.txt'));
    expect(await readFile(path, 'utf8')).toBe('content');
    expect((await allFiles(root)).sort()).toEqual(['.tunekit-file.txt.sha256', 'file.txt']);
    expect((await store.list('artifact://')).map((info) => info.uri)).toEqual([
      'artifact://deep/er/file.txt',
    ]);
    await store.delete('artifact://deep/er/file.txt');
    expect(await readdir(root)).toEqual([]);
  });

  it('detects corruption on get and stream with ARTIFACT_CHECKSUM_MISMATCH', async () => {
    const store = createFileArtifactStore({ directory: await newRoot() });
    await store.put('artifact://model.bin', 'original bytes');
    await writeFile(store.localPath?.('artifact://model.bin') as string, 'tampered bytes');
    expect(await codeOf(store.get('artifact://model.bin'))).toBe('ARTIFACT_CHECKSUM_MISMATCH');
    expect(await codeOf(readStream(store.stream('artifact://model.bin')))).toBe('ARTIFACT_CHECKSUM_MISMATCH');
  });

  it('streams a large artifact in and out without holding it whole', async () => {
    const store = createFileArtifactStore({ directory: await newRoot() });
    const chunk = new Uint8Array(1024 * 1024);
    const expectedHash = createHash('sha256');
    async function* generate() {
      for (let index = 0; index < 48; index += 1) {
        chunk.fill(index);
        expectedHash.update(chunk);
        yield chunk;
      }
    }
    const info = await store.put('artifact://large.bin', generate());
    const expected = expectedHash.digest('hex');
    expect(info).toMatchObject({ size: 48 * 1024 * 1024, sha256: expected });
    const readHash = createHash('sha256');
    let chunks = 0;
    for await (const piece of store.stream('artifact://large.bin')) {
      readHash.update(piece as Buffer);
      chunks += 1;
    }
    expect(readHash.digest('hex')).toBe(expected);
    expect(chunks).toBeGreaterThan(1);
  });

  it('readers see the old content, whole, while a large write is in progress', async () => {
    const root = await newRoot();
    const store = createFileArtifactStore({ directory: root });
    const uri = 'artifact://weights/model.bin';
    const oldContent = new Uint8Array(4 * 1024 * 1024).fill(0x61);
    await store.put(uri, oldContent);
    const oldHash = sha256(oldContent);
    let written = 0;
    let release: () => void = () => undefined;
    const halfway = new Promise<void>((resolveHalfway) => {
      release = resolveHalfway;
    });
    async function* slowNewContent() {
      for (let index = 0; index < 16; index += 1) {
        yield new Uint8Array(512 * 1024).fill(0x62);
        written += 1;
        if (written === 8) {
          release();
        }
        await new Promise((resolveWait) => setTimeout(resolveWait, 5));
      }
    }
    const writing = store.put(uri, slowNewContent());
    await halfway;
    let reads = 0;
    while (written < 16) {
      // A temp file holds the partial new content…
      expect((await readdir(join(root, 'weights'))).some((name) => name.startsWith('.tunekit-tmp-'))).toBe(
        true,
      );
      // …while every reader, through the store or the raw path, gets the complete old content.
      expect(sha256(await store.get(uri))).toBe(oldHash);
      expect(sha256(await readFile(store.localPath?.(uri) as string))).toBe(oldHash);
      reads += 1;
    }
    const info = await writing;
    expect(reads).toBeGreaterThan(0);
    expect(info.size).toBe(8 * 1024 * 1024);
    expect(sha256(await store.get(uri))).toBe(info.sha256);
    expect((await readdir(join(root, 'weights'))).sort()).toEqual(['.tunekit-model.bin.sha256', 'model.bin']);
  });

  it('a write whose source fails midway keeps the previous content and leaves no temp file', async () => {
    const root = await newRoot();
    const store = createFileArtifactStore({ directory: root });
    await store.put('artifact://data/set.jsonl', 'previous');
    async function* failing() {
      yield new Uint8Array(1024 * 1024).fill(1);
      yield new Uint8Array(1024 * 1024).fill(2);
      throw new Error('upload interrupted');
    }
    await expect(store.put('artifact://data/set.jsonl', failing())).rejects.toThrow('upload interrupted');
    const stream = new Readable({ read() {} });
    const writing = store.put('artifact://data/other.bin', stream);
    stream.push(Buffer.alloc(1024));
    stream.destroy(new Error('socket reset'));
    await expect(writing).rejects.toThrow('socket reset');
    expect(text(await store.get('artifact://data/set.jsonl'))).toBe('previous');
    expect(await store.exists('artifact://data/other.bin')).toBe(false);
    expect((await readdir(join(root, 'data'))).sort()).toEqual(['.tunekit-set.jsonl.sha256', 'set.jsonl']);
  });

  it('a writer process killed midway leaves the previous content intact', async () => {
    const root = await newRoot();
    const store = createFileArtifactStore({ directory: root });
    const uri = 'artifact://checkpoints/last.bin';
    await store.put(uri, 'previous checkpoint');
    const fixture = fileURLToPath(new URL('./test-fixtures/slow-artifact-writer.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, root, uri], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolveStarted, reject) => {
      child.stdout.on('data', (data: Buffer) => {
        if (data.toString().includes('writing')) {
          resolveStarted();
        }
      });
      child.once('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
    });
    child.kill('SIGKILL');
    await new Promise((resolveExit) => child.once('exit', resolveExit));
    expect(text(await store.get(uri))).toBe('previous checkpoint');
    // The dead process's temp file cannot be cleaned by it; it is invisible to the store…
    expect((await store.list('artifact://')).map((info) => info.uri)).toEqual([uri]);
    expect((await readdir(join(root, 'checkpoints'))).some((name) => name.startsWith('.tunekit-tmp-'))).toBe(
      true,
    );
    // …kept while it may belong to a live writer, and removed by housekeeping once stale.
    expect(await store.removeStaleTemporaryFiles()).toBe(0);
    expect(await store.removeStaleTemporaryFiles(0)).toBe(1);
    expect((await readdir(join(root, 'checkpoints'))).sort()).toEqual([
      '.tunekit-last.bin.sha256',
      'last.bin',
    ]);
    expect(text(await store.get(uri))).toBe('previous checkpoint');
  });
});
