/**
 * Reading requests and writing answers: the JSON body with its size and type rules, JSON answers,
 * the path and the query of a URL.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { API_ERROR_CODES, ApiError } from './errors.js';

/** Answers with JSON (never cached). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** JSON encoded once for many answers (sendEncodedJson). */
export function encodeJson(body: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(body)}\n`, 'utf8');
}

/** Answers with JSON already encoded by encodeJson (never cached by the client). */
export function sendEncodedJson(res: ServerResponse, status: number, encoded: Buffer): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': encoded.length, 'cache-control': 'no-store' });
  res.end(encoded);
}

/** The fields of a JSON object body, refusing anything but `allowed`; `example` shows a good body. */
export function objectBody(body: unknown, allowed: readonly string[], example: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError(400, API_ERROR_CODES.invalidRequest, `the body must be a JSON object: send ${example}`);
  }
  const extra = Object.keys(body).filter((k) => !allowed.includes(k));
  if (extra.length > 0) {
    throw new ApiError(400, API_ERROR_CODES.invalidRequest, `unknown field ${extra.map((k) => `"${k}"`).join(', ')}: the fields are ${allowed.join(', ')}, e.g. ${example}`);
  }
  return body as Record<string, unknown>;
}

export function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.search(/[?#]/);
  return q < 0 ? raw : raw.slice(0, q);
}

export function queryOf(url: string | undefined): URLSearchParams {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
}

/**
 * Reads a JSON body of at most `limit` bytes. No body: undefined, or 400 if `required`.
 * A body must be declared application/json (415 otherwise).
 */
export async function readJsonBody(req: IncomingMessage, limit: number, required: boolean, example: string): Promise<unknown> {
  const declared = req.headers['content-length'];
  const chunked = req.headers['transfer-encoding'] !== undefined;
  const length = declared === undefined ? undefined : Number(declared);
  if (length !== undefined && length > limit) {
    throw new ApiError(413, API_ERROR_CODES.bodyTooLarge, `the body is ${length} bytes; the limit is ${limit} bytes`);
  }
  const hasBody = chunked || (length !== undefined && length > 0);
  if (!hasBody) {
    if (required) throw new ApiError(400, API_ERROR_CODES.invalidRequest, 'the body is empty: send a JSON object with content-type application/json');
    return undefined;
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type !== 'application/json') {
    throw new ApiError(
      415,
      API_ERROR_CODES.unsupportedMediaType,
      `the body's content-type is ${type === '' ? 'missing' : `"${type}"`}: send JSON with content-type application/json`,
    );
  }
  // Read by events, not `for await`: leaving an async iterator destroys the socket before the 413 is sent.
  const chunks = await new Promise<Buffer[]>((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return; // discard the rest
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(new ApiError(413, API_ERROR_CODES.bodyTooLarge, `the body exceeds the limit of ${limit} bytes`));
        return;
      }
      parts.push(chunk);
    });
    req.once('end', () => resolve(parts));
    req.once('error', reject);
  });
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') {
    if (required) throw new ApiError(400, API_ERROR_CODES.invalidRequest, 'the body is empty: send a JSON object with content-type application/json');
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ApiError(400, API_ERROR_CODES.badJson, `the body is not valid JSON (${(err as Error).message}): fix it, e.g. ${example}`);
  }
}
