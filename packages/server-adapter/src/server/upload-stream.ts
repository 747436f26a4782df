import { PassThrough, type Readable, Transform } from 'node:stream';
import { TunekitError, tunekitError } from '@tunekit/core';
import busboy from 'busboy';

/** The file of an upload: its bytes as a stream and the name the client gave. */
export interface UploadedFile {
  stream: Readable;
  fileName?: string;
}

function tooLarge(limit: number): TunekitError {
  return tunekitError('PAYLOAD_TOO_LARGE', `The upload exceeds the limit of ${limit} bytes`, { limit });
}

/** A body the client cut short or a multipart body that does not parse: a 400, never a 500 or a crash. */
function malformedBody(error: unknown): TunekitError {
  if (TunekitError.isInstance(error)) return error;
  return tunekitError(
    'VALIDATION_FAILED',
    `The request body is malformed or incomplete: ${(error as Error)?.message ?? String(error)}`,
    { issues: [{ path: '(body)', message: (error as Error)?.message ?? 'incomplete' }] },
  );
}

/**
 * Keeps an error of `stream` for whoever reads it later instead of letting it crash the process.
 * The handler may still be awaiting other work (a database lookup) when the client cuts the body
 * short; an `'error'` event without a listener would then be an uncaught exception. A destroyed
 * stream still throws its error to a later `for await` or `pipeline`, so nothing is lost.
 */
function holdErrors<T extends Readable>(stream: T): T {
  stream.on('error', () => undefined);
  return stream;
}

/** Passes bytes through and fails with `PAYLOAD_TOO_LARGE` once more than `limit` bytes went by. */
export function limitBytes(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > limit) callback(tooLarge(limit));
      else callback(null, chunk);
    },
  });
}

/**
 * Calls `fail` when the request body errors or the client goes away before the body ended (a
 * truncated upload, a dropped connection).
 */
function onBodyFailure(body: Readable, fail: (error: TunekitError) => void): void {
  body.on('error', (error) => fail(malformedBody(error)));
  body.on('aborted', () => fail(malformedBody(new Error('the client closed the connection early'))));
  body.on('close', () => {
    if (!body.readableEnded) fail(malformedBody(new Error('the body ended before its declared length')));
  });
}

/**
 * The file of a request body, streamed: the first file part of a `multipart/form-data` body (via
 * busboy), or the raw body for any other content type. Fails with `PAYLOAD_TOO_LARGE` past `limit`
 * bytes, and `VALIDATION_FAILED` when a multipart body has no file, is cut short (no closing
 * boundary) or the client goes away mid-body. The returned stream never emits an unhandled
 * `'error'`: its failure reaches whoever reads it.
 */
export function uploadedFile(
  body: Readable,
  headers: Record<string, string | string[] | undefined>,
  limit: number,
  fileNameHint?: string,
): Promise<UploadedFile> {
  const contentType = String(headers['content-type'] ?? '');
  const declared = Number(headers['content-length']);
  if (Number.isFinite(declared) && declared > limit + 64 * 1024) return Promise.reject(tooLarge(limit));
  if (!contentType.startsWith('multipart/form-data')) {
    const limited = holdErrors(limitBytes(limit));
    onBodyFailure(body, (error) => limited.destroy(error));
    return Promise.resolve({ stream: body.pipe(limited), fileName: fileNameHint });
  }
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: headers as Record<string, string>, limits: { files: 1, fileSize: limit } });
    } catch (error) {
      reject(tunekitError('VALIDATION_FAILED', (error as Error).message));
      return;
    }
    let output: PassThrough | undefined;
    let settled = false;
    const fail = (error: TunekitError) => {
      if (output) {
        if (!output.destroyed) output.destroy(error);
      } else if (!settled) {
        settled = true;
        reject(error);
      }
      parser.destroy();
    };
    parser.on('file', (_field, file, info) => {
      if (output) {
        file.resume();
        return;
      }
      const stream = holdErrors(new PassThrough());
      output = stream;
      file.on('limit', () => stream.destroy(tooLarge(limit)));
      file.on('error', (error) => {
        if (!stream.destroyed) stream.destroy(malformedBody(error));
      });
      // The consumer went away (or failed): stop parsing and let the body drain.
      stream.on('close', () => {
        if (!file.readableEnded) file.resume();
      });
      file.pipe(stream);
      settled = true;
      resolve({ stream, fileName: fileNameHint ?? info.filename });
    });
    parser.on('error', (error) => fail(malformedBody(error)));
    parser.on('close', () => {
      if (!output && !settled) {
        settled = true;
        reject(
          tunekitError('VALIDATION_FAILED', 'The multipart body has no file part', {
            issues: [{ path: 'file', message: 'required' }],
          }),
        );
      }
    });
    onBodyFailure(body, fail);
    body.pipe(parser);
  });
}
