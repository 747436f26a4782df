import { ErrorCodes } from '../errors/error-codes.js';
import { TunekitError } from '../errors/tunekit-error.js';

/** `ARTIFACT_NOT_FOUND`: no artifact at `uri` (every artifact store throws it from `get`, `stream`, `info`). */
export function artifactNotFound(uri: string): TunekitError {
  return new TunekitError({
    code: 'ARTIFACT_NOT_FOUND',
    status: ErrorCodes.ARTIFACT_NOT_FOUND.status,
    message: `No artifact at ${uri}`,
    details: { uri },
  });
}

/** `ARTIFACT_CHECKSUM_MISMATCH`: the content read back does not hash to the sha256 recorded at `put`. */
export function artifactChecksumMismatch(uri: string, expected: string, actual: string): TunekitError {
  return new TunekitError({
    code: 'ARTIFACT_CHECKSUM_MISMATCH',
    status: ErrorCodes.ARTIFACT_CHECKSUM_MISMATCH.status,
    message: `Artifact ${uri} is corrupt: sha256 ${actual} does not match the recorded ${expected}`,
    details: { uri, expected, actual },
  });
}
