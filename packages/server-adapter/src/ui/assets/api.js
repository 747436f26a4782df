// The Tunekit JSON API as the web UI uses it: the same routes as the typed client, with the bearer
// token of `POST /auth/login` kept in sessionStorage (it ends with the browser tab).

/** The API sits one level above the page: the UI is served at `<mount>/ui/`, the API at `<mount>/`. */
const apiBase = new URL('../', document.baseURI);
const tokenKey = 'tunekit.token';
const userKey = 'tunekit.user';

/** An API error: the HTTP status and the problem+json document (code, detail, issues). */
export class ApiError extends Error {
  constructor(status, problem) {
    const detail = problem?.detail ?? `The server answered ${status}`;
    super(problem?.code ? `${detail} (${problem.code})` : detail);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem ?? {};
  }
}

/** The signed-in user's name and token, or undefined. */
export function session() {
  const token = sessionStorage.getItem(tokenKey);
  return token ? { token, username: sessionStorage.getItem(userKey) ?? '' } : undefined;
}

/** Forgets the token. */
export function logOut() {
  sessionStorage.removeItem(tokenKey);
  sessionStorage.removeItem(userKey);
}

/** `POST /auth/login`: exchanges a username and password for a token and keeps it. */
export async function logIn(username, password) {
  const answer = await request('auth/login', { method: 'POST', json: { username, password } });
  sessionStorage.setItem(tokenKey, answer.access_token);
  sessionStorage.setItem(userKey, username);
  return answer;
}

function headersWith(extra = {}) {
  const headers = new Headers(extra);
  const current = session();
  if (current) headers.set('authorization', `Bearer ${current.token}`);
  return headers;
}

async function errorOf(response) {
  let problem;
  try {
    problem = await response.json();
  } catch {
    problem = undefined;
  }
  return new ApiError(response.status, problem);
}

/**
 * Calls a route (path relative to the API root, e.g. `train/42`) and returns its JSON answer.
 * `json` is sent as an `application/json` body, `body` as is (a FormData for uploads).
 */
export async function request(path, { method = 'GET', json, body, signal } = {}) {
  const headers = headersWith({ accept: 'application/json' });
  if (json !== undefined) headers.set('content-type', 'application/json');
  const response = await fetch(new URL(path, apiBase), {
    method,
    headers,
    body: json !== undefined ? JSON.stringify(json) : body,
    signal,
  });
  if (!response.ok) throw await errorOf(response);
  return response.status === 204 ? undefined : response.json();
}

/** Parses one `text/event-stream` frame (`event:` and `data:` lines) into `{ event, data }`. */
function parseFrame(frame) {
  let event = 'message';
  const data = [];
  for (const line of frame.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  if (data.length === 0) return undefined;
  const text = data.join('\n');
  try {
    return { event, data: JSON.parse(text) };
  } catch {
    return { event, data: text };
  }
}

/**
 * Follows a Server-Sent Events route. EventSource cannot send an Authorization header, so the
 * stream is read with fetch() and a ReadableStream reader instead. Ends when the server ends the
 * stream or the signal aborts.
 */
export async function* serverSentEvents(path, signal) {
  const response = await fetch(new URL(path, apiBase), {
    headers: headersWith({ accept: 'text/event-stream' }),
    signal,
  });
  if (!response.ok) throw await errorOf(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replaceAll('\r\n', '\n');
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const event = parseFrame(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (event) yield event;
        end = buffer.indexOf('\n\n');
      }
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
}
