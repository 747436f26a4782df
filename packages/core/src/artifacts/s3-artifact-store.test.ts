import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TunekitError } from '../errors/tunekit-error.js';
import { createTunekit } from '../kit/create-tunekit.js';
import { describeArtifactStoreCompliance } from '../testing/describe-artifact-store-compliance.js';
import {
  findS3Server,
  S3_SERVER_MISSING_REASON,
  type S3TestServer,
  startS3Server,
} from '../testing/start-s3-server.js';
import { createS3ArtifactStore, type S3ArtifactStoreOptions } from './s3-artifact-store.js';

const available = findS3Server() !== undefined;
const skipReason = available ? undefined : S3_SERVER_MISSING_REASON;
let server: S3TestServer | undefined;
beforeAll(async () => {
  server = await startS3Server();
}, 60_000);
afterAll(() => server?.stop());

let stores = 0;
/** Options of a store in a prefix of its own, so that cases do not see each other's objects. */
const storeOptions = (): S3ArtifactStoreOptions => {
  const running = server as S3TestServer;
  stores += 1;
  return {
    bucket: running.bucket,
    prefix: `case-${stores}/`,
    endpoint: running.endpoint,
    credentials: { ...running.credentials },
    maxAttempts: 2,
  };
};
const openStore = () => createS3ArtifactStore(storeOptions());

describeArtifactStoreCompliance('s3', async () => openStore(), { skipReason });

const title = (name: string) => `${name}${skipReason ? ` (skipped: ${skipReason})` : ''}`;

describe.skipIf(!available)('s3 artifact store', () => {
  it(title(
    'streams a multipart upload (3 parts) in and out with its sha256, staged out of sight until published',
  ), async () => {
    const store = createS3ArtifactStore({ ...storeOptions(), partSizeBytes: 5 * 1024 * 1024 });
    const part = Buffer.alloc(1024 * 1024);
    let produced = 0;
    const hash = createHash('sha256');
    // 12 MiB produced lazily: the store never gets it whole.
    const source = Readable.from(
      (function* () {
        for (let index = 0; index < 12; index++) {
          part.fill(index);
          hash.update(part);
          produced += part.byteLength;
          yield Buffer.from(part);
        }
      })(),
    );
    const info = await store.put('artifact://big/weights.bin', source);
    expect(info).toMatchObject({ size: produced, sha256: hash.digest('hex') });
    const read = createHash('sha256');
    let size = 0;
    for await (const chunk of store.stream('artifact://big/weights.bin')) {
      read.update(chunk as Buffer);
      size += (chunk as Buffer).byteLength;
    }
    expect({ size, sha256: read.digest('hex') }).toEqual({ size: info.size, sha256: info.sha256 });
    // Nothing of the staging area shows, and nothing is left in it.
    expect((await store.list('artifact://')).map((entry) => entry.uri)).toEqual([
      'artifact://big/weights.bin',
    ]);
    store.close();
  }, 60_000);

  it(
    title('detects an object changed behind its back on get and stream (ARTIFACT_CHECKSUM_MISMATCH)'),
    async () => {
      const options = storeOptions();
      const store = createS3ArtifactStore(options);
      await store.put('artifact://model.bin', 'the real weights');
      // Another writer replaces the bytes but not the recorded checksum.
      const { S3Client, CopyObjectCommand, PutObjectCommand, HeadObjectCommand } = await import(
        '@aws-sdk/client-s3'
      );
      const client = new S3Client({
        endpoint: options.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: options.credentials,
        requestChecksumCalculation: 'WHEN_REQUIRED',
      });
      const key = `${options.prefix}model.bin`;
      const { Metadata } = await client.send(new HeadObjectCommand({ Bucket: options.bucket, Key: key }));
      await client.send(
        new PutObjectCommand({ Bucket: options.bucket, Key: `${key}.evil`, Body: 'tampered', Metadata }),
      );
      await client.send(
        new CopyObjectCommand({
          Bucket: options.bucket,
          Key: key,
          CopySource: `${options.bucket}/${key}.evil`,
          MetadataDirective: 'COPY',
        }),
      );
      const codeOf = async (promise: Promise<unknown>) =>
        promise.then(
          () => 'no error',
          (error: unknown) => (TunekitError.isInstance(error) ? error.code : String(error)),
        );
      expect(await codeOf(store.get('artifact://model.bin'))).toBe('ARTIFACT_CHECKSUM_MISMATCH');
      const drain = async () => {
        for await (const _chunk of store.stream('artifact://model.bin')) {
          // read to the end
        }
      };
      expect(await codeOf(drain())).toBe('ARTIFACT_CHECKSUM_MISMATCH');
      client.destroy();
      store.close();
    },
  );

  it(title('a put whose source fails midway keeps the previous content'), async () => {
    const store = openStore();
    await store.put('artifact://a.txt', 'old');
    const failing = new Readable({
      read() {
        this.push(Buffer.from('new and partial'));
        this.destroy(new Error('source broke'));
      },
    });
    await expect(store.put('artifact://a.txt', failing)).rejects.toThrow('source broke');
    expect(Buffer.from(await store.get('artifact://a.txt')).toString()).toBe('old');
    expect((await store.list('artifact://')).map((entry) => entry.uri)).toEqual(['artifact://a.txt']);
    store.close();
  });

  it(title('is chosen with createTunekit({ artifacts: { s3 } }) and shared by two kits'), async () => {
    const s3 = storeOptions();
    const writer = await createTunekit({ artifacts: { s3 } });
    const reader = await createTunekit({ artifacts: { s3 } });
    try {
      await writer.artifacts.put('artifact://jobs/j1/checkpoints/step-1/state.json', '{"step":1}');
      expect(
        Buffer.from(
          await reader.artifacts.get('artifact://jobs/j1/checkpoints/step-1/state.json'),
        ).toString(),
      ).toBe('{"step":1}');
      expect(reader.artifacts.localPath).toBeUndefined();
    } finally {
      await Promise.all([writer.close(), reader.close()]);
    }
  });
});
