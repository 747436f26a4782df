import { PassThrough, type Readable, Transform } from 'node:stream';
import { TunekitError } from '@tunekit/core';
import busboy from 'busboy';

/** The file of an upload: its bytes as a stream and the name the client gave. */
export interface UploadedFile {
  stream: Readable;
  fileName?: string;
}

function tooLarge(limit: number): TunekitError {
  return new TunekitError({
    code: 'PAYLOAD_TOO_LARGE',
    status: 413,
    message: `The upload exceeds the limit of ${limit} bytes`,
    details: { limit },
  });
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
 * The file of a request body, streamed: the first file part of a `multipart/form-data` body (via
 * busboy), or the raw body for any other content type. Fails with `PAYLOAD_TOO_LARGE` past `limit`
 * bytes, and `VALIDATION_FAILED` when a multipart body has no file.
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
    const limited = limitBytes(limit);
    body.on('error', (error) => limited.destroy(error));
    return Promise.resolve({ stream: body.pipe(limited), fileName: fileNameHint });
  }
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: headers as Record<string, string>, limits: { files: 1, fileSize: limit } });
    } catch (error) {
      reject(new TunekitError({ code: 'VALIDATION_FAILED', status: 400, message: (error as Error).message }));
      return;
    }
    let found = false;
    parser.on('file', (_field, file, info) => {
      if (found) {
        file.resume();
        return;
      }
      found = true;
      const output = new PassThrough();
      file.on('limit', () => output.destroy(tooLarge(limit)));
      file.on('error', (error) => output.destroy(error));
      file.pipe(output);
      resolve({ stream: output, fileName: fileNameHint ?? info.filename });
    });
    parser.on('error', (error) =>
      found
        ? undefined
        : reject(
            new TunekitError({ code: 'VALIDATION_FAILED', status: 400, message: (error as Error).message }),
          ),
    );
    parser.on('close', () => {
      if (!found) {
        reject(
          new TunekitError({
            code: 'VALIDATION_FAILED',
            status: 400,
            message: 'The multipart body has no file part',
            details: { issues: [{ path: 'file', message: 'required' }] },
          }),
        );
      }
    });
    body.pipe(parser);
  });
}
