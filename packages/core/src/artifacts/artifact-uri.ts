import { type TunekitError, tunekitError } from '../errors/tunekit-error.js';

/** Scheme of every artifact URI. */
export const ARTIFACT_SCHEME = 'artifact://';

/** Names starting with this are reserved for the store's own files (temp files, checksums). */
export const RESERVED_NAME_PREFIX = '.tunekit-';

const maxUriLength = 1024;

function invalid(uri: unknown, reason: string): TunekitError {
  return tunekitError('ARTIFACT_INVALID_URI', `Invalid artifact URI ${JSON.stringify(uri)}: ${reason}`, {
    uri,
    reason,
  });
}

function checkSegments(uri: unknown, path: string, allowTrailingSlash: boolean): void {
  if (path.includes('\u0000')) {
    throw invalid(uri, 'contains a NUL character');
  }
  if (path.includes('\\')) {
    throw invalid(uri, 'contains a backslash (use "/" between segments)');
  }
  if (path.startsWith('/')) {
    throw invalid(uri, 'is absolute (the path after artifact:// must be relative)');
  }
  const segments = path.split('/');
  if (allowTrailingSlash && segments.at(-1) === '') {
    segments.pop();
  }
  for (const segment of segments) {
    if (segment === '') {
      throw invalid(uri, 'has an empty path segment');
    }
    if (segment === '.' || segment === '..') {
      throw invalid(uri, 'has a "." or ".." segment');
    }
    if (segment.startsWith(RESERVED_NAME_PREFIX)) {
      throw invalid(uri, `uses the reserved name prefix "${RESERVED_NAME_PREFIX}"`);
    }
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we reject
    if (/[\u0000-\u001f\u007f]/.test(segment)) {
      throw invalid(uri, 'contains a control character');
    }
  }
}

/**
 * Parses `artifact://relative/path` into its relative path. Rejects (with
 * `ARTIFACT_INVALID_URI`) other schemes, absolute paths, `.`/`..` segments, empty segments,
 * backslashes, NUL and control characters, and reserved names.
 */
export function parseArtifactUri(uri: string): string {
  if (typeof uri !== 'string' || !uri.startsWith(ARTIFACT_SCHEME)) {
    throw invalid(uri, `must start with ${ARTIFACT_SCHEME}`);
  }
  if (uri.length > maxUriLength) {
    throw invalid(uri, `is longer than ${maxUriLength} characters`);
  }
  const path = uri.slice(ARTIFACT_SCHEME.length);
  if (path === '') {
    throw invalid(uri, 'has no path');
  }
  if (path.endsWith('/')) {
    throw invalid(uri, 'ends with "/" (names a folder, not an artifact)');
  }
  checkSegments(uri, path, false);
  return path;
}

/**
 * Parses a URI prefix for `list`/`deletePrefix`: `artifact://` (everything), `artifact://runs/`
 * (a folder) or `artifact://runs/r1-` (a name prefix). Returns the relative path prefix.
 */
export function parseArtifactPrefix(prefix: string): string {
  if (typeof prefix !== 'string' || !prefix.startsWith(ARTIFACT_SCHEME)) {
    throw invalid(prefix, `must start with ${ARTIFACT_SCHEME}`);
  }
  const path = prefix.slice(ARTIFACT_SCHEME.length);
  if (path !== '') {
    checkSegments(prefix, path, true);
  }
  return path;
}

/** The URI of a relative path (`a/b.bin` → `artifact://a/b.bin`). */
export function toArtifactUri(path: string): string {
  return `${ARTIFACT_SCHEME}${path}`;
}
