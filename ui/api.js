// @ts-check
/**
 * The agent's public API as the page calls it: JSON reads and the event stream, both sending the
 * bearer token when the user gave one (kept in sessionStorage: for this tab only, gone when it
 * closes). The stream is read with fetch rather than EventSource, because EventSource cannot send
 * an Authorization header and a token in the URL ends up in logs.
 */

const TOKEN_KEY = 'hearsay.token';

/** The agent answered 401: it wants a (different) token. */
export class UnauthorizedError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'UnauthorizedError';
  }
}

/** @returns {string | null} */
export function storedToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

/** @param {string | null} token */
export function storeToken(token) {
  try {
    if (token === null || token === '') sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // storage disabled: the token lasts until the page reloads
  }
}

/** @returns {Record<string, string>} */
function headers() {
  const token = storedToken();
  return token === null ? {} : { authorization: `Bearer ${token}` };
}

/** @param {Response} res */
async function failure(res) {
  let message = `HTTP ${res.status}`;
  try {
    const body = await res.json();
    if (typeof body?.error === 'string') message = body.error;
  } catch {
    // not JSON
  }
  return res.status === 401 ? new UnauthorizedError(message) : new Error(message);
}

/**
 * GET a JSON answer of the API.
 * @template T
 * @param {string} path
 * @param {AbortSignal} [signal]
 * @returns {Promise<T>}
 */
export async function getJson(path, signal) {
  const res = await fetch(path, { headers: headers(), cache: 'no-store', ...(signal === undefined ? {} : { signal }) });
  if (!res.ok) throw await failure(res);
  return /** @type {T} */ (await res.json());
}

/**
 * Reads GET /v1/events (Server-Sent Events) until it ends or `signal` aborts: `onOpen` once the
 * agent answered, then `onEvent(type, data)` for each message. Resolves when the stream ends.
 * @param {string} path
 * @param {{ signal: AbortSignal, onOpen: () => void, onEvent: (type: string, data: unknown) => void }} handlers
 * @returns {Promise<void>}
 */
export async function readEvents(path, { signal, onOpen, onEvent }) {
  const res = await fetch(path, { headers: { ...headers(), accept: 'text/event-stream' }, cache: 'no-store', signal });
  if (!res.ok || res.body === null) throw await failure(res);
  onOpen();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const message = parseMessage(block);
      if (message !== undefined) onEvent(message.type, message.data);
    }
  }
}

/**
 * One SSE message: its `event:` and its `data:` lines joined, parsed as JSON; undefined for a comment.
 * @param {string} block
 * @returns {{ type: string, data: unknown } | undefined}
 */
export function parseMessage(block) {
  let type = 'message';
  /** @type {string[]} */
  const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':') || line === '') continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return undefined;
  try {
    return { type, data: JSON.parse(data.join('\n')) };
  } catch {
    return undefined;
  }
}
