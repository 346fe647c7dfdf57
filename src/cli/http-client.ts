/**
 * A tiny client of the agent's HTTP API for the CLI commands (`members`, `join`, `leave`):
 * node:http, JSON in and out, a connect timeout, and errors that say what to do.
 */
import { request } from 'node:http';
import { AGENT_DEFAULTS } from '../agent/defaults.js';
import { formatHostPort, parseHostPort, type ParsedHostPort } from '../transport/address.js';
import type { Address } from '../wire/messages.js';
import type { FlagSpec } from './command.js';
import { UsageError } from './command.js';

/**
 * The agent's API address as written: HOST:PORT, or a URL http://HOST:PORT[/] as Consul's
 * CONSUL_HTTP_ADDR takes it. https:// is refused: the API is plain HTTP (on loopback by default).
 */
export function parseApiAddress(value: string): ParsedHostPort {
  let text = value.trim();
  if (/^https:\/\//i.test(text)) return { ok: false, problem: 'is https: the agent serves plain HTTP; write http://HOST:PORT or HOST:PORT' };
  if (/^http:\/\//i.test(text)) text = text.slice('http://'.length).replace(/\/+$/, '');
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return { ok: false, problem: 'is not an http:// address: write http://HOST:PORT or HOST:PORT' };
  return parseHostPort(text, { defaultPort: AGENT_DEFAULTS.http.port });
}

/** The `--http` flag every client command takes. */
export const httpFlag = {
  type: 'string',
  placeholder: 'ADDR',
  description: `the agent's HTTP API, HOST:PORT or http://HOST:PORT (default ${formatHostPort(AGENT_DEFAULTS.http)}, or $HEARSAY_HTTP_ADDR)`,
  check: (value: string) => {
    const parsed = parseApiAddress(value);
    return parsed.ok ? undefined : parsed.problem;
  },
} as const satisfies FlagSpec;

/**
 * The API address: the flag, else $HEARSAY_HTTP_ADDR, else $HEARSAY_HTTP (the agent's own
 * variable, so one exported setting serves both), else 127.0.0.1:7947. Throws UsageError for a
 * malformed environment value.
 */
export function resolveHttpAddress(flag: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env): Address {
  const candidates: [string, string | undefined][] = [
    ['--http', flag],
    ['HEARSAY_HTTP_ADDR', env.HEARSAY_HTTP_ADDR],
    ['HEARSAY_HTTP', env.HEARSAY_HTTP],
  ];
  for (const [label, value] of candidates) {
    if (value === undefined || value.trim() === '') continue;
    const parsed = parseApiAddress(value);
    if (!parsed.ok) throw new UsageError(`${label === '--http' ? '--http' : `$${label}`} "${value}" ${parsed.problem}`);
    return parsed.address;
  }
  return AGENT_DEFAULTS.http;
}

/** No agent answers at the address (connection refused, unreachable, timed out). */
export class AgentUnreachableError extends Error {
  readonly code = 'HEARSAY_ERR_AGENT_UNREACHABLE';
  constructor(address: Address, cause: unknown) {
    const where = formatHostPort(address);
    super(`no hearsay agent answers at ${where}: start one with \`hearsay agent\` or pass --http`, { cause });
    this.name = 'AgentUnreachableError';
  }
}

/** The agent answered with an error status; `code` is its HEARSAY_ERR_* code. */
export class AgentApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'AgentApiError';
    this.status = status;
    this.code = code;
  }
}

export interface CallOptions {
  /** JSON request body (sent as application/json). */
  readonly body?: unknown;
  /** Give up on connecting after this long, in ms. @default 3000 */
  readonly connectTimeoutMs?: number;
  /** Give up waiting for the whole answer after this long, in ms. @default 10000 */
  readonly timeoutMs?: number;
  /** Called with the response headers of a 2xx answer (e.g. to read X-Hearsay-Index). */
  readonly onHeaders?: (headers: Readonly<Record<string, string | string[] | undefined>>) => void;
  /** Bearer token for an agent started with --http-token. @default $HEARSAY_HTTP_TOKEN */
  readonly token?: string;
  /** Aborts the request (e.g. a blocking query when the user presses Ctrl-C). */
  readonly signal?: AbortSignal;
}

const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** Calls the API; resolves with the parsed JSON of a 2xx answer, rejects with one of the errors above. */
export function callAgent(address: Address, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, options: CallOptions = {}): Promise<unknown> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  const token = options.token ?? process.env.HEARSAY_HTTP_TOKEN;
  return new Promise((resolve, reject) => {
    let connected = false;
    const req = request(
      {
        host: address.host,
        port: address.port,
        method,
        path,
        headers: {
          accept: 'application/json',
          ...(token === undefined || token === '' ? {} : { authorization: `Bearer ${token}` }),
          ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
        },
        timeout: options.connectTimeoutMs ?? 3000,
        // A fresh connection per call: the connect timeout below is cleared on 'connect', which a
        // reused keep-alive socket never emits (it would cut a long blocking query after 3 s).
        agent: false,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES) {
            req.destroy(new Error(`the answer from ${formatHostPort(address)} is larger than ${MAX_RESPONSE_BYTES} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('error', reject);
        res.on('end', () => {
          clearTimeout(overall);
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            reject(new Error(`${formatHostPort(address)} answered ${method} ${path} with something other than JSON (HTTP ${res.statusCode}): is it a hearsay agent's HTTP API?`));
            return;
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            options.onHeaders?.(res.headers);
            resolve(json);
          }
          else {
            const body = json as { error?: unknown; code?: unknown };
            reject(
              new AgentApiError(
                status,
                typeof body.code === 'string' ? body.code : `HTTP_${status}`,
                typeof body.error === 'string' ? body.error : `the agent answered HTTP ${status}`,
              ),
            );
          }
        });
      },
    );
    const overall = setTimeout(() => {
      req.destroy(new Error(`the agent at ${formatHostPort(address)} did not answer ${method} ${path} within ${options.timeoutMs ?? 10_000} ms`));
    }, options.timeoutMs ?? 10_000);
    req.on('socket', (socket) => {
      socket.once('connect', () => {
        connected = true;
        req.setTimeout(0);
      });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(overall);
      if (!connected || err.code === 'ECONNREFUSED') reject(new AgentUnreachableError(address, err));
      else reject(err);
    });
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** Writes the error the way every client command does and returns exit code 1. */
export function reportClientError(commandName: string, err: unknown, io: { readonly stderr: { write(text: string): unknown } }): number {
  if (err instanceof AgentUnreachableError) io.stderr.write(`hearsay ${commandName}: ${err.message}\n`);
  else if (err instanceof AgentApiError) io.stderr.write(`hearsay ${commandName}: ${err.message} (${err.code})\n`);
  else if (err instanceof Error) io.stderr.write(`hearsay ${commandName}: ${err.message}\n`);
  else throw err;
  return 1;
}
