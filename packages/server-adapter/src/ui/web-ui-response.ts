import { createHash } from 'node:crypto';
import { webUiFiles } from './web-ui-files.js';

/**
 * Content-Security-Policy of the web UI: its own scripts, styles and API only; no inline script or
 * style, no framing, no plugins, forms post nowhere else.
 */
export const WEB_UI_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const contentTypes: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

/** One file of the web UI, ready to send. */
interface WebUiFile {
  readonly body: string;
  readonly contentType: string;
  /** Strong validator: a hash of the content. */
  readonly etag: string;
}

/** The files with their content types and ETags (computed once, when the module loads). */
const files: ReadonlyMap<string, WebUiFile> = new Map(
  Object.entries(webUiFiles).map(([name, body]) => [
    name,
    {
      body,
      contentType: contentTypes[name.split('.').pop() ?? ''] ?? 'application/octet-stream',
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    },
  ]),
);

/** A web UI answer for an adapter: status, headers and, unless 304, the body. */
export interface WebUiResponse {
  /** 200, or 304 when `If-None-Match` names the file's current ETag. */
  status: 200 | 304;
  /** Content type, caching, ETag and security headers. */
  headers: Record<string, string>;
  /** The file's text (absent on 304). */
  body?: string;
}

/** Whether an `If-None-Match` header names this ETag (or `*`). */
function matches(ifNoneMatch: string | string[] | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  const tags = (Array.isArray(ifNoneMatch) ? ifNoneMatch.join(',') : ifNoneMatch)
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''));
  return tags.includes('*') || tags.includes(etag);
}

/**
 * The answer for a file of the web UI (`''` is `index.html`), or undefined when there is no such
 * file. Every answer carries the UI's Content-Security-Policy, `nosniff` and `no-referrer`; files
 * are revalidated on each use (`Cache-Control: no-cache` with an ETag, so an unchanged file costs a
 * 304), since their names carry no version.
 */
export function webUiResponse(fileName: string, ifNoneMatch?: string | string[]): WebUiResponse | undefined {
  const file = files.get(fileName === '' ? 'index.html' : fileName);
  if (!file) return undefined;
  const headers = {
    'content-type': file.contentType,
    'cache-control': 'no-cache',
    etag: file.etag,
    'content-security-policy': WEB_UI_CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
  };
  if (matches(ifNoneMatch, file.etag)) return { status: 304, headers };
  return { status: 200, headers, body: file.body };
}

/** Names of the web UI's files (for tests and tooling). */
export function webUiFileNames(): string[] {
  return [...files.keys()];
}
