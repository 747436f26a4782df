import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { TunekitError } from '../errors/tunekit-error.js';

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

/** Options of {@link describeArtifactStoreCompliance}. */
export interface ArtifactStoreComplianceOptions {
  /** Skips every case, with this reason in the suite's name (a server binary is missing). */
  skipReason?: string;
}

/**
 * The behaviour every {@link ArtifactStore} shares, as a vitest suite: puts of every source kind
 * read back with their info, overwrite in place, URI validation (`ARTIFACT_INVALID_URI`), missing
 * artifacts (`ARTIFACT_NOT_FOUND`), listing by folder or name prefix and deleting by prefix.
 * `createStore` must return an empty store for each case.
 */
export function describeArtifactStoreCompliance(
  name: string,
  createStore: () => Promise<ArtifactStore>,
  options: ArtifactStoreComplianceOptions = {},
): void {
  const title = `${name} artifact store${options.skipReason ? ` (skipped: ${options.skipReason})` : ''}`;
  describe.skipIf(options.skipReason !== undefined)(title, () => {
    it('puts strings, bytes, Readables and async iterables, and reads them back with their info', async () => {
      const store = await createStore();
      const inputs: Array<[string, Parameters<ArtifactStore['put']>[1], string]> = [
        ['artifact://a/text.txt', 'héllo', 'héllo'],
        ['artifact://a/bytes.bin', new Uint8Array([104, 105]), 'hi'],
        ['artifact://b/readable.txt', Readable.from([Buffer.from('re'), Buffer.from('ad')]), 'read'],
        [
          'artifact://b/c/iterable.txt',
          (async function* () {
            yield new TextEncoder().encode('it');
            yield new TextEncoder().encode('er');
          })(),
          'iter',
        ],
      ];
      for (const [uri, data, expected] of inputs) {
        const info = await store.put(uri, data);
        expect(info).toMatchObject({ uri, size: Buffer.byteLength(expected), sha256: sha256(expected) });
        expect(Number.isNaN(Date.parse(info.modifiedAt))).toBe(false);
        expect(text(await store.get(uri))).toBe(expected);
        expect((await readStream(store.stream(uri))).toString('utf8')).toBe(expected);
        expect(await store.exists(uri)).toBe(true);
        expect(await store.stat(uri)).toEqual(info);
      }
    });

    it('overwrites an artifact in place', async () => {
      const store = await createStore();
      await store.put('artifact://x.txt', 'one');
      await store.put('artifact://x.txt', 'two');
      expect(text(await store.get('artifact://x.txt'))).toBe('two');
      expect((await store.list('artifact://')).map((info) => info.uri)).toEqual(['artifact://x.txt']);
    });

    it('rejects malformed and escaping URIs with ARTIFACT_INVALID_URI', async () => {
      const store = await createStore();
      const bad = [
        'file:///etc/passwd',
        '/etc/passwd',
        'artifact://',
        'artifact:///etc/passwd',
        'artifact://../outside',
        'artifact://a/../../outside',
        'artifact://a/./b',
        'artifact://a//b',
        'artifact://a\\..\\b',
        'artifact://nul\u0000byte',
        'artifact://line\nbreak',
        'artifact://a/',
        'artifact://.tunekit-tmp-1',
        `artifact://${'x'.repeat(2000)}`,
      ];
      for (const uri of bad) {
        expect(await codeOf(store.put(uri, 'x')), uri).toBe('ARTIFACT_INVALID_URI');
        expect(await codeOf(store.get(uri)), uri).toBe('ARTIFACT_INVALID_URI');
        expect(await codeOf(store.stat(uri)), uri).toBe('ARTIFACT_INVALID_URI');
        expect(await codeOf(store.delete(uri)), uri).toBe('ARTIFACT_INVALID_URI');
        expect(await codeOf(readStream(store.stream(uri))), uri).toBe('ARTIFACT_INVALID_URI');
      }
      expect(await codeOf(store.list('artifact://../'))).toBe('ARTIFACT_INVALID_URI');
      expect(await codeOf(store.deletePrefix('/tmp'))).toBe('ARTIFACT_INVALID_URI');
    });

    it('reports missing artifacts as ARTIFACT_NOT_FOUND, undefined stat, false exists/delete', async () => {
      const store = await createStore();
      expect(await codeOf(store.get('artifact://missing.bin'))).toBe('ARTIFACT_NOT_FOUND');
      expect(await codeOf(readStream(store.stream('artifact://missing.bin')))).toBe('ARTIFACT_NOT_FOUND');
      expect(await store.stat('artifact://missing.bin')).toBeUndefined();
      expect(await store.exists('artifact://missing.bin')).toBe(false);
      expect(await store.delete('artifact://missing.bin')).toBe(false);
    });

    it('lists by folder or name prefix, sorted, and deletes by prefix', async () => {
      const store = await createStore();
      for (const uri of [
        'artifact://runs/r1/model.onnx',
        'artifact://runs/r1/config.json',
        'artifact://runs/r10/model.onnx',
        'artifact://runs/r2/model.onnx',
        'artifact://datasets/d1.parquet',
      ]) {
        await store.put(uri, uri);
      }
      const uris = async (prefix: string) => (await store.list(prefix)).map((info) => info.uri);
      expect(await uris('artifact://runs/r1/')).toEqual([
        'artifact://runs/r1/config.json',
        'artifact://runs/r1/model.onnx',
      ]);
      expect(await uris('artifact://runs/r1')).toEqual([
        'artifact://runs/r1/config.json',
        'artifact://runs/r1/model.onnx',
        'artifact://runs/r10/model.onnx',
      ]);
      expect(await uris('artifact://')).toHaveLength(5);
      expect(await uris('artifact://nothing/')).toEqual([]);
      expect(await store.deletePrefix('artifact://runs/r1/')).toBe(2);
      expect(await uris('artifact://runs/')).toEqual([
        'artifact://runs/r10/model.onnx',
        'artifact://runs/r2/model.onnx',
      ]);
      expect(await store.delete('artifact://datasets/d1.parquet')).toBe(true);
      expect(await store.exists('artifact://datasets/d1.parquet')).toBe(false);
    });
  });
}
