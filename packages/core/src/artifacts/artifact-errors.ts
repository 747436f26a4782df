import { type TunekitError, tunekitError } from '../errors/tunekit-error.js';

/** `ARTIFACT_NOT_FOUND`: no artifact at `uri` (every artifact store throws it from `get`, `stream`, `info`). */
export function artifactNotFound(uri: string): TunekitError {
  return tunekitError('ARTIFACT_NOT_FOUND', `No artifact at ${uri}`, { uri });
}

/** `ARTIFACT_CHECKSUM_MISMATCH`: the content read back does not hash to the sha256 recorded at `put`. */
export function artifactChecksumMismatch(uri: string, expected: string, actual: string): TunekitError {
  return tunekitError(
    'ARTIFACT_CHECKSUM_MISMATCH',
    `Artifact ${uri} is corrupt: sha256 ${actual} does not match the recorded ${expected}`,
    { uri, expected, actual },
  );
}
