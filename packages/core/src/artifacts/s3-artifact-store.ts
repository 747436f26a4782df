import { createHash, randomUUID } from 'node:crypto';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { TunekitError, tunekitError } from '../errors/tunekit-error.js';
import { artifactChecksumMismatch, artifactNotFound } from './artifact-errors.js';
import { createArtifactLookups } from './artifact-lookups.js';
import type { ArtifactInfo, ArtifactStore } from './artifact-store.js';
import {
  parseArtifactPrefix,
  parseArtifactUri,
  RESERVED_NAME_PREFIX,
  toArtifactUri,
} from './artifact-uri.js';

/** Options of {@link createS3ArtifactStore}, as `createTunekit({ artifacts: { s3: … } })` takes them. */
export const S3ArtifactStoreOptionsSchema = z
  .object({
    /** The bucket (it must exist). */
    bucket: z.string().min(1),
    /** Key prefix inside the bucket, e.g. `tunekit/` (default none). */
    prefix: z
      .string()
      .regex(/^([^/].*\/)?$/, 'must be empty or end with "/" and not start with "/"')
      .optional(),
    /** Endpoint of an S3-compatible server (MinIO, Ceph, R2, s3rver …); default AWS. */
    endpoint: z.string().url().optional(),
    /** Region (default `us-east-1`). */
    region: z.string().min(1).optional(),
    /** Path-style URLs (`endpoint/bucket/key`), which most S3-compatible servers need (default: true when an endpoint is given). */
    forcePathStyle: z.boolean().optional(),
    /** Static credentials; default the AWS SDK's chain (environment, profile, instance role …). */
    credentials: z
      .object({
        accessKeyId: z.string().min(1),
        secretAccessKey: z.string().min(1),
        sessionToken: z.string().optional(),
      })
      .strict()
      .optional(),
    /** Tries per request, with the SDK's exponential backoff and jitter (default 5). */
    maxAttempts: z.number().int().positive().optional(),
    /** Multipart part size in bytes, at least 5 MiB (default 8 MiB). Parts are retried one by one. */
    partSizeBytes: z
      .number()
      .int()
      .min(5 * 1024 * 1024)
      .optional(),
    /** Parts uploaded at once (default 4). */
    queueSize: z.number().int().positive().optional(),
  })
  .strict();

/** Options of {@link createS3ArtifactStore}. */
export type S3ArtifactStoreOptions = z.input<typeof S3ArtifactStoreOptionsSchema>;

/** Object metadata key holding the artifact's hex sha256. */
const SHA256_METADATA = 'tunekit-sha256';
/** Where uploads are staged before they are published under their name (hidden from list). */
const STAGING_FOLDER = `${RESERVED_NAME_PREFIX}staging/`;

type S3Module = typeof import('@aws-sdk/client-s3');
type UploadModule = typeof import('@aws-sdk/lib-storage');

async function loadSdk(): Promise<{ s3: S3Module; storage: UploadModule }> {
  try {
    const [s3, storage] = await Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/lib-storage')]);
    return { s3, storage };
  } catch (error) {
    throw tunekitError(
      'DEPENDENCY_MISSING',
      'The S3 artifact store needs the optional packages @aws-sdk/client-s3 and @aws-sdk/lib-storage: npm install @aws-sdk/client-s3 @aws-sdk/lib-storage',
      undefined,
      { cause: error },
    );
  }
}

function storageFailed(what: string, error: unknown): TunekitError {
  return tunekitError(
    'STORAGE_FAILED',
    `S3 ${what} failed: ${error instanceof Error ? error.message : String(error)}`,
    undefined,
    { cause: error },
  );
}

const isMissing = (error: unknown) => {
  const name = (error as { name?: string } | undefined)?.name;
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata
    ?.httpStatusCode;
  return name === 'NoSuchKey' || name === 'NotFound' || status === 404;
};

/** Bytes of any `put` source, as an async iterable of Buffers. */
function toSource(data: Uint8Array | string | Readable | AsyncIterable<Uint8Array>): Readable {
  if (typeof data === 'string') return Readable.from([Buffer.from(data, 'utf8')]);
  if (data instanceof Uint8Array) return Readable.from([Buffer.from(data)]);
  if (data instanceof Readable) return data;
  return Readable.from(data);
}

/**
 * An {@link ArtifactStore} on S3 or an S3-compatible server, so that every worker of a deployment
 * reads and writes the same checkpoints, adapters and datasets.
 *
 * - **Streaming multipart upload**: `put` streams its source through `@aws-sdk/lib-storage`'s
 *   `Upload` (parts of `partSizeBytes`, `queueSize` at once; a small artifact is one `PutObject`),
 *   hashing it on the way; it never holds a large artifact whole.
 * - **Atomic publish**: the upload goes to a staging key under `.tunekit-staging/` and is then copied
 *   under its name with its sha256 in the object metadata, in one `CopyObject`: readers see the old
 *   object or the new one with its checksum, never a part. (A single copy handles up to 5 GiB.)
 * - **Checksums verified on read**: `get` and `stream` recompute the sha256 and fail with
 *   `ARTIFACT_CHECKSUM_MISMATCH` when it differs from the recorded one.
 * - **Retries**: every request is retried by the SDK (`maxAttempts`, exponential backoff with
 *   jitter); multipart parts are retried one by one.
 * The SDK is an optional peer dependency, imported on first use. No `localPath`.
 */
export function createS3ArtifactStore(input: S3ArtifactStoreOptions): ArtifactStore & { close(): void } {
  const options = S3ArtifactStoreOptionsSchema.parse(input);
  const keyPrefix = options.prefix ?? '';
  const keyOf = (path: string) => `${keyPrefix}${path}`;
  let sdk:
    | Promise<{ s3: S3Module; storage: UploadModule; client: InstanceType<S3Module['S3Client']> }>
    | undefined;
  const connect = () => {
    sdk ??= loadSdk().then(({ s3, storage }) => ({
      s3,
      storage,
      client: new s3.S3Client({
        endpoint: options.endpoint,
        region: options.region ?? 'us-east-1',
        forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
        // A copy: the SDK writes into the object it is given.
        credentials: options.credentials === undefined ? undefined : { ...options.credentials },
        maxAttempts: options.maxAttempts ?? 5,
        // Checksums are Tunekit's own (sha256 in metadata); S3-compatible servers differ on the
        // SDK's default CRC trailers.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      }),
    }));
    return sdk;
  };

  const head = async (path: string): Promise<ArtifactInfo | undefined> => {
    const { s3, client } = await connect();
    try {
      const result = await client.send(
        new s3.HeadObjectCommand({ Bucket: options.bucket, Key: keyOf(path) }),
      );
      return {
        uri: toArtifactUri(path),
        size: result.ContentLength ?? 0,
        sha256: result.Metadata?.[SHA256_METADATA] ?? '',
        modifiedAt: (result.LastModified ?? new Date()).toISOString(),
      };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw storageFailed(`HEAD ${path}`, error);
    }
  };

  /** The object's body and its recorded sha256. */
  const open = async (uri: string) => {
    const path = parseArtifactUri(uri);
    const { s3, client } = await connect();
    try {
      const result = await client.send(new s3.GetObjectCommand({ Bucket: options.bucket, Key: keyOf(path) }));
      return { body: result.Body as Readable, expected: result.Metadata?.[SHA256_METADATA] };
    } catch (error) {
      if (isMissing(error)) throw artifactNotFound(uri);
      throw storageFailed(`GET ${path}`, error);
    }
  };

  const listPaths = async (pathPrefix: string): Promise<string[]> => {
    const { s3, client } = await connect();
    const paths: string[] = [];
    let token: string | undefined;
    do {
      const page = await client
        .send(
          new s3.ListObjectsV2Command({
            Bucket: options.bucket,
            Prefix: keyOf(pathPrefix),
            ContinuationToken: token,
          }),
        )
        .catch((error: unknown) => {
          throw storageFailed(`LIST ${pathPrefix}`, error);
        });
      for (const entry of page.Contents ?? []) {
        const path = (entry.Key ?? '').slice(keyPrefix.length);
        if (path !== '' && !path.split('/').some((segment) => segment.startsWith(RESERVED_NAME_PREFIX))) {
          paths.push(path);
        }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return paths.sort((left, right) => (left < right ? -1 : left > right ? 1 : 0));
  };

  const store: ArtifactStore & { close(): void } = {
    async put(uri, data) {
      const path = parseArtifactUri(uri);
      const { s3, storage, client } = await connect();
      const staging = keyOf(`${STAGING_FOLDER}${randomUUID()}`);
      const hash = createHash('sha256');
      let size = 0;
      const body = new PassThrough();
      const hashing = pipeline(
        toSource(data),
        new Transform({
          transform(chunk: Buffer | string, _encoding, callback) {
            const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
            hash.update(bytes);
            size += bytes.byteLength;
            callback(null, bytes);
          },
        }),
        body,
      );
      const upload = new storage.Upload({
        client,
        params: { Bucket: options.bucket, Key: staging, Body: body },
        partSize: options.partSizeBytes ?? 8 * 1024 * 1024,
        queueSize: options.queueSize ?? 4,
        leavePartsOnError: false,
      });
      try {
        await Promise.all([hashing, upload.done()]);
      } catch (error) {
        await upload.abort().catch(() => undefined);
        await client
          .send(new s3.DeleteObjectCommand({ Bucket: options.bucket, Key: staging }))
          .catch(() => undefined);
        if (TunekitError.isInstance(error)) throw error;
        // A failing source is the caller's error, as it is for the other stores.
        if (!(error as { $metadata?: unknown })?.$metadata) throw error;
        throw storageFailed(`PUT ${path}`, error);
      }
      const sha256 = hash.digest('hex');
      try {
        const copied = await client.send(
          new s3.CopyObjectCommand({
            Bucket: options.bucket,
            Key: keyOf(path),
            CopySource: `${options.bucket}/${staging.split('/').map(encodeURIComponent).join('/')}`,
            MetadataDirective: 'REPLACE',
            Metadata: { [SHA256_METADATA]: sha256 },
          }),
        );
        return {
          uri: toArtifactUri(path),
          size,
          sha256,
          modifiedAt: (copied.CopyObjectResult?.LastModified ?? new Date()).toISOString(),
        };
      } catch (error) {
        throw storageFailed(`publishing ${path}`, error);
      } finally {
        await client
          .send(new s3.DeleteObjectCommand({ Bucket: options.bucket, Key: staging }))
          .catch(() => undefined);
      }
    },

    async get(uri) {
      const { body, expected } = await open(uri);
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(chunk as Buffer);
      const content = Buffer.concat(chunks);
      const actual = createHash('sha256').update(content).digest('hex');
      if (expected !== undefined && expected !== actual)
        throw artifactChecksumMismatch(uri, expected, actual);
      return new Uint8Array(content.buffer, content.byteOffset, content.byteLength);
    },

    stream(uri) {
      const hash = createHash('sha256');
      let expected: string | undefined;
      const output = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          hash.update(chunk);
          callback(null, chunk);
        },
        flush(callback) {
          const actual = hash.digest('hex');
          callback(
            expected !== undefined && expected !== actual
              ? artifactChecksumMismatch(uri, expected, actual)
              : null,
          );
        },
      });
      open(uri).then(
        (opened) => {
          expected = opened.expected;
          opened.body.on('error', (error) => output.destroy(error));
          opened.body.pipe(output);
        },
        (error: unknown) => output.destroy(error as Error),
      );
      return output;
    },

    // One HEAD per object: the sha256 lives in the object's metadata, which a listing does not return.
    ...createArtifactLookups({ infoOf: head, listPaths }),

    async delete(uri) {
      const path = parseArtifactUri(uri);
      if ((await head(path)) === undefined) return false;
      const { s3, client } = await connect();
      await client
        .send(new s3.DeleteObjectCommand({ Bucket: options.bucket, Key: keyOf(path) }))
        .catch((error) => {
          throw storageFailed(`DELETE ${path}`, error);
        });
      return true;
    },

    async deletePrefix(prefix) {
      const paths = await listPaths(parseArtifactPrefix(prefix));
      const { s3, client } = await connect();
      for (let start = 0; start < paths.length; start += 16) {
        await Promise.all(
          paths.slice(start, start + 16).map((path) =>
            client
              .send(new s3.DeleteObjectCommand({ Bucket: options.bucket, Key: keyOf(path) }))
              .catch((error) => {
                throw storageFailed(`DELETE ${path}`, error);
              }),
          ),
        );
      }
      return paths.length;
    },

    close() {
      void sdk?.then(({ client }) => client.destroy());
    },
  };
  return store;
}
