/**
 * The agent's local HTTP API (node:http, JSON; loopback by default; beyond loopback only with a
 * bearer token, http-guard.ts):
 *
 *   GET  /v1/members     array of {name, addr, port, status, incarnation, tags}
 *   GET  /v1/agent/self  {name, addr, port, incarnation, tags, status, profile, state, bind, counters}
 *   POST /v1/join        body {"addrs": ["HOST:PORT", ...]} → {joined: n}
 *   POST /v1/leave       optional body {"timeoutMs": n} → {left: true, name}; then `onLeave` runs
 *   GET  /v1/events      Server-Sent Events: `event: member-join` + `data: {...}`, keep-alive comments
 *   GET  /metrics        Prometheus text format 0.0.4
 *   and the service routes of http-services.ts (/v1/services, /v1/pick, /v1/checks, /v1/maintenance)
 *   GET  /v1/keys, POST /v1/keys/{install,use,remove}   key operations across the mesh (http-keys.ts)
 *
 * Every error is a 4xx/5xx with a JSON body {error, code}: `code` is a stable HEARSAY_ERR_* string
 * and `error` says what was wrong and what to do. Requests carrying an Origin header are refused
 * (403): browsers send one, the CLI and curl do not, so a web page cannot drive the agent.
 *
 * The server only uses the Agent interface; the agent is injected, so tests drive it with a fake.
 * No framework: a dozen routes do not need one, and node:http keeps the dependency list short.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { HearsayError } from '../errors.js';
import type { MemberView } from '../membership/types.js';
import type { Address } from '../wire/messages.js';
import { formatHostPort, isLoopbackHost, parseHostPort } from '../transport/address.js';
import { serviceRoutes } from './http-services.js';
import type { KeyOp } from '../security/key-manager.js';
import { ApiError, checkHttpExposure, HttpGuard } from './http-guard.js';
import { runKeyRequest, type KeyOps } from './http-keys.js';
import { METRICS_CONTENT_TYPE, renderMetrics } from './metrics.js';
import type { Agent, AgentEvent, MemberInfo } from './types.js';

export interface HttpServerOptions {
  /** Logs requests at debug and failures at warn/error. @default no logging */
  readonly logger?: Logger;
  /** The agent's timing profile, shown by /v1/agent/self and /metrics (the Agent does not expose it). */
  readonly profile?: string;
  /**
   * Called once the answer to a successful POST /v1/leave has been sent; `hearsay agent` closes
   * the server and exits 0 there.
   */
  readonly onLeave?: () => void;
  /** Interval between SSE keep-alive comments on /v1/events, in ms. @default 15000 */
  readonly keepAliveMs?: number;
  /** Largest request body accepted, in bytes; larger gets 413. @default 65536 */
  readonly maxBodyBytes?: number;
  /** Most concurrent /v1/events streams; more get 503. @default 64 */
  readonly maxEventStreams?: number;
  /** Bytes an SSE client may fall behind before its stream is ended. @default 1048576 */
  readonly maxEventBacklogBytes?: number;
  /** Most concurrent blocking queries (GET /v1/services/:name?index=); more get 503. @default 1024 */
  readonly maxBlockingQueries?: number;
  /** Bearer token every request must carry; required to listen beyond loopback. @default none */
  readonly token?: string;
  /** Sustained request rate (bursts to twice it); more get 429. @default 10000 */
  readonly maxRequestsPerSecond?: number;
  /** Key operations (the agent's keyManager); without it the key routes answer 409. */
  readonly keys?: KeyOps;
}

export interface HttpServer {
  /** Listens on `address` (port 0 picks a free one); resolves with the bound address. */
  listen(address: Address): Promise<Address>;
  /** The bound address once listening. */
  readonly address: Address | undefined;
  /** Ends event streams, stops accepting, closes connections. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** The API's stable error codes. */
export const HTTP_ERROR_CODES = {
  notFound: 'HEARSAY_ERR_NOT_FOUND',
  methodNotAllowed: 'HEARSAY_ERR_METHOD_NOT_ALLOWED',
  bodyTooLarge: 'HEARSAY_ERR_BODY_TOO_LARGE',
  unsupportedMediaType: 'HEARSAY_ERR_UNSUPPORTED_MEDIA_TYPE',
  badJson: 'HEARSAY_ERR_BAD_JSON',
  invalidRequest: 'HEARSAY_ERR_INVALID_REQUEST',
  forbiddenOrigin: 'HEARSAY_ERR_FORBIDDEN_ORIGIN',
  forbiddenHost: 'HEARSAY_ERR_FORBIDDEN_HOST',
  tooManyStreams: 'HEARSAY_ERR_TOO_MANY_STREAMS',
  shuttingDown: 'HEARSAY_ERR_SHUTTING_DOWN',
  joinFailed: 'HEARSAY_ERR_JOIN_FAILED',
  leaveFailed: 'HEARSAY_ERR_LEAVE_FAILED',
  internal: 'HEARSAY_ERR_INTERNAL',
} as const;

const MAX_JOIN_ADDRS = 256;
/** Agent errors that mean "not in a state to do that" (409 Conflict). */
const STATE_CONFLICTS = new Set(['HEARSAY_ERR_NOT_RUNNING', 'HEARSAY_ERR_AGENT_CLOSED', 'HEARSAY_ERR_NOT_STARTED']);
const MAX_LEAVE_TIMEOUT_MS = 600_000;


type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

/** The member as the API shows it. */
export function memberInfoFromView(view: MemberView): MemberInfo {
  return { name: view.name, addr: view.host, port: view.port, status: view.status, incarnation: view.incarnation, tags: { ...view.state.tags } };
}

/** An agent event as the JSON `data` of an SSE message (members as in /v1/members). */
export function eventToJson(event: AgentEvent): Record<string, unknown> {
  if ('member' in event) return { ...event, member: memberInfoFromView(event.member) };
  return { ...event };
}

export function createHttpServer(agent: Agent, options: HttpServerOptions = {}): HttpServer {
  const log = options.logger;
  const keepAliveMs = options.keepAliveMs ?? 15_000;
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
  const maxStreams = options.maxEventStreams ?? 64;
  const maxBacklog = options.maxEventBacklogBytes ?? 1024 * 1024;
  const streams = new Set<ServerResponse>();
  const guard = new HttpGuard({
    ...(options.token === undefined ? {} : { token: options.token }),
    ...(options.maxRequestsPerSecond === undefined ? {} : { maxRequestsPerSecond: options.maxRequestsPerSecond }),
  });
  let leaving: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  let bound: Address | undefined;
  let signalClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => (signalClosed = resolve));

  const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void => {
    const text = `${JSON.stringify(body)}\n`;
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
      ...headers,
    });
    res.end(text);
  };

  const self = (): Record<string, unknown> => {
    const view = agent.memberViews().find((v) => v.name === agent.name);
    return {
      name: agent.name,
      addr: agent.address.host,
      port: agent.address.port,
      incarnation: agent.incarnation,
      tags: { ...(view?.state.tags ?? {}) },
      status: view?.status ?? 'alive',
      ...(options.profile === undefined ? {} : { profile: options.profile }),
      state: agent.state,
      bind: formatHostPort(agent.bindAddress),
      counters: { ...agent.counters() },
    };
  };

  const members: Handler = (_req, res) => {
    const list = agent.members().map((m) => ({ name: m.name, addr: m.addr, port: m.port, status: m.status, incarnation: m.incarnation, tags: { ...m.tags } }));
    sendJson(res, 200, list);
  };

  const join: Handler = async (req, res) => {
    const body = await readJsonBody(req, maxBodyBytes, true, '{"addrs": ["10.0.0.2:7946"]}');
    const example = 'send {"addrs": ["10.0.0.2:7946"]}';
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ApiError(400, HTTP_ERROR_CODES.invalidRequest, `the body must be a JSON object: ${example}`);
    }
    const extra = Object.keys(body).filter((k) => k !== 'addrs');
    if (extra.length > 0) throw new ApiError(400, HTTP_ERROR_CODES.invalidRequest, `unknown field ${extra.map((k) => `"${k}"`).join(', ')}: ${example}`);
    const addrs = (body as { addrs?: unknown }).addrs;
    if (!Array.isArray(addrs) || addrs.length === 0 || !addrs.every((a) => typeof a === 'string')) {
      throw new ApiError(400, HTTP_ERROR_CODES.invalidRequest, `"addrs" must be a non-empty array of "HOST:PORT" strings: ${example}`);
    }
    if (addrs.length > MAX_JOIN_ADDRS) {
      throw new ApiError(400, HTTP_ERROR_CODES.invalidRequest, `"addrs" has ${addrs.length} entries: give at most ${MAX_JOIN_ADDRS}`);
    }
    const seeds: Address[] = [];
    const problems: string[] = [];
    for (const a of addrs as string[]) {
      const parsed = parseHostPort(a);
      if (parsed.ok) seeds.push(parsed.address);
      else problems.push(`"${a}" ${parsed.problem}`);
    }
    if (problems.length > 0) throw new ApiError(400, HTTP_ERROR_CODES.invalidRequest, `bad address in "addrs": ${problems.join('; ')}`);
    try {
      const joined = await agent.join(seeds);
      log?.info({ seeds: seeds.map(formatHostPort), joined }, 'joined through the HTTP API');
      sendJson(res, 200, { joined });
    } catch (err) {
      log?.warn({ err, seeds: seeds.map(formatHostPort) }, 'join through the HTTP API failed');
      if (err instanceof HearsayError) {
        const status = STATE_CONFLICTS.has(err.code) ? 409 : err.code.startsWith('HEARSAY_ERR_INVALID') ? 400 : 502;
        throw new ApiError(status, err.code, err.message);
      }
      throw new ApiError(502, HTTP_ERROR_CODES.joinFailed, `join failed: ${(err as Error).message ?? String(err)}; check that the seeds run hearsay agents and are reachable`);
    }
  };

  const leave: Handler = async (req, res) => {
    const body = await readJsonBody(req, maxBodyBytes, false, '{"timeoutMs": 5000}');
    let timeoutMs: number | undefined;
    if (body !== undefined) {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new ApiError(400, HTTP_ERROR_CODES.invalidRequest, 'the body must be empty or a JSON object such as {"timeoutMs": 5000}');
      }
      const extra = Object.keys(body).filter((k) => k !== 'timeoutMs');
      if (extra.length > 0) throw new ApiError(400, HTTP_ERROR_CODES.invalidRequest, `unknown field ${extra.map((k) => `"${k}"`).join(', ')}: the only field is "timeoutMs"`);
      const t = (body as { timeoutMs?: unknown }).timeoutMs;
      if (t !== undefined) {
        if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > MAX_LEAVE_TIMEOUT_MS) {
          throw new ApiError(400, HTTP_ERROR_CODES.invalidRequest, `"timeoutMs" must be an integer number of milliseconds in 0-${MAX_LEAVE_TIMEOUT_MS}, e.g. 5000`);
        }
        timeoutMs = t;
      }
    }
    leaving ??= agent.leave(timeoutMs === undefined ? {} : { timeoutMs });
    try {
      await leaving;
    } catch (err) {
      log?.error({ err }, 'leave through the HTTP API failed');
      const code = err instanceof HearsayError ? err.code : HTTP_ERROR_CODES.leaveFailed;
      throw new ApiError(500, code, `leave failed: ${(err as Error).message ?? String(err)}`);
    }
    log?.info('left the cluster through the HTTP API');
    res.once('finish', () => options.onLeave?.());
    sendJson(res, 200, { left: true, name: agent.name });
  };

  const events: Handler = (req, res) => {
    if (closing !== undefined) throw new ApiError(503, HTTP_ERROR_CODES.shuttingDown, 'the agent is shutting down');
    if (streams.size >= maxStreams) {
      throw new ApiError(503, HTTP_ERROR_CODES.tooManyStreams, `already ${streams.size} event streams open: close one and retry`);
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    streams.add(res);
    const write = (text: string): void => {
      if (res.writableEnded || res.destroyed) return;
      if (res.writableLength > maxBacklog) {
        log?.warn({ backlogBytes: res.writableLength }, 'ending an event stream whose client does not keep up');
        res.end(': ending: client too slow\n\n');
        return;
      }
      res.write(text);
    };
    const listener = (event: AgentEvent): void => {
      write(`event: ${event.type}\ndata: ${JSON.stringify(eventToJson(event))}\n\n`);
    };
    const timer = setInterval(() => write(': keep-alive\n\n'), keepAliveMs);
    timer.unref();
    const cleanup = (): void => {
      clearInterval(timer);
      agent.off('event', listener);
      streams.delete(res);
    };
    res.once('close', cleanup);
    req.once('close', () => {
      if (!res.writableEnded) res.end();
    });
    agent.on('event', listener);
    write(`: hearsay agent ${agent.name} events\n\n`);
  };

  const metrics: Handler = (_req, res) => {
    // The agent's counters plus the API's own (requests refused by reason).
    const withHttp = Object.create(agent, { counters: { value: () => ({ ...agent.counters(), ...guard.counters }) } }) as typeof agent;
    const text = renderMetrics(withHttp, options.profile === undefined ? {} : { profile: options.profile });
    res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(text);
  };

  const keyOp =
    (op: KeyOp): Handler =>
    async (req, res) => {
      const body = op === 'list' ? undefined : await readJsonBody(req, maxBodyBytes, true, '{"key": "BASE64 KEY"}');
      sendJson(res, 200, await runKeyRequest(options.keys, op, body));
    };

  const routes: Readonly<Record<string, Readonly<Record<string, Handler>>>> = {
    '/v1/members': { GET: members },
    '/v1/agent/self': { GET: (_req, res) => sendJson(res, 200, self()) },
    '/v1/join': { POST: join },
    '/v1/leave': { POST: leave },
    '/v1/events': { GET: events },
    '/metrics': { GET: metrics },
    '/v1/keys': { GET: keyOp('list') },
    '/v1/keys/install': { POST: keyOp('install') },
    '/v1/keys/use': { POST: keyOp('use') },
    '/v1/keys/remove': { POST: keyOp('remove') },
  };
  const patterned = serviceRoutes(agent, {
    sendJson,
    readJsonBody: (req, required, example) => readJsonBody(req, maxBodyBytes, required, example),
    fail: (status, code, message, headers) => new ApiError(status, code, message, headers),
    closed,
    maxBlockingQueries: options.maxBlockingQueries ?? 1024,
  });
  const routeList = [
    ...Object.entries(routes).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m} ${path}`)),
    ...patterned.map((r) => r.label),
  ].join(', ');

  /** Runs the service route matching method and path; false when none matches the path. */
  const runPatterned = async (req: IncomingMessage, res: ServerResponse, method: string, path: string): Promise<boolean> => {
    const allow: string[] = [];
    for (const r of patterned) {
      const m = r.pattern.exec(path);
      if (m === null) continue;
      if (r.method !== method) {
        allow.push(r.method);
        continue;
      }
      const params = m.slice(1).map(decodeSegment);
      await r.handler(req, res, params, queryOf(req.url));
      return true;
    }
    if (allow.length === 0) return false;
    const list = [...new Set(allow)].join(', ');
    throw new ApiError(405, HTTP_ERROR_CODES.methodNotAllowed, `${path} does not accept ${method}: use ${list}`, { allow: list });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const path = pathOf(req.url);
    try {
      guard.check(req);
      // DNS rebinding: a web page whose name was rebound to 127.0.0.1 sends its own name as Host
      // (and no Origin on a same-origin GET). Without a token, only loopback names are served.
      if (options.token === undefined && !hostAllowed(req.headers.host, bound)) {
        throw new ApiError(
          403,
          HTTP_ERROR_CODES.forbiddenHost,
          `requests for host ${JSON.stringify(req.headers.host)} are refused: call the API as 127.0.0.1, [::1] or localhost (or start the agent with --http-token)`,
        );
      }
      if (req.headers.origin !== undefined) {
        throw new ApiError(403, HTTP_ERROR_CODES.forbiddenOrigin, 'requests from web pages (with an Origin header) are refused: call the API from a program or the hearsay CLI');
      }
      const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
      if (route === undefined && (await runPatterned(req, res, method, path))) {
        log?.debug({ method, path, status: res.statusCode }, 'http request');
        return;
      }
      if (route === undefined) throw new ApiError(404, HTTP_ERROR_CODES.notFound, `no route for ${method} ${path}: the API serves ${routeList}`);
      const handler = Object.hasOwn(route, method) ? route[method] : undefined;
      if (handler === undefined) {
        const allow = Object.keys(route).join(', ');
        throw new ApiError(405, HTTP_ERROR_CODES.methodNotAllowed, `${path} does not accept ${method}: use ${allow}`, { allow });
      }
      await handler(req, res);
      log?.debug({ method, path, status: res.statusCode }, 'http request');
    } catch (err) {
      const e =
        err instanceof ApiError
          ? err
          : new ApiError(500, HTTP_ERROR_CODES.internal, `internal error: ${(err as Error).message ?? String(err)}; see the agent's log`);
      guard.noteRefused(e.status);
      if (e.status >= 500) log?.error({ err, method, path }, 'http request failed');
      else log?.debug({ method, path, status: e.status, code: e.code }, 'http request rejected');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // A body we did not read: close the connection rather than read it.
      const headers: Record<string, string> = { ...e.headers };
      if (!req.complete) headers.connection = 'close';
      sendJson(res, e.status, { error: e.message, code: e.code }, headers);
    }
  };

  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });

  return {
    listen(address: Address): Promise<Address> {
      try {
        checkHttpExposure(address.host, address.port, options.token);
      } catch (err) {
        return Promise.reject(err as Error);
      }
      return new Promise((resolve, reject) => {
        const onError = (err: Error): void => reject(err);
        server.once('error', onError);
        server.listen({ host: address.host, port: address.port }, () => {
          server.off('error', onError);
          const info = server.address() as AddressInfo;
          bound = { host: info.address, port: info.port };
          resolve(bound);
        });
      });
    },
    get address() {
      return bound;
    },
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        signalClosed();
        for (const res of streams) res.end();
        if (!server.listening) {
          resolve();
          return;
        }
        server.close(() => resolve());
        server.closeIdleConnections();
        // Connections still busy (a slow join) get a moment, then are cut.
        setTimeout(() => server.closeAllConnections(), 1000).unref();
      });
      return closing;
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
}

/** Whether a Host header names this agent on loopback (or its bound address); no header is allowed. */
function hostAllowed(header: string | undefined, bound: Address | undefined): boolean {
  if (header === undefined || header === '') return true;
  let host = header.trim().toLowerCase();
  if (host.startsWith('[')) host = host.slice(1, host.indexOf(']') < 0 ? undefined : host.indexOf(']'));
  else if (host.split(':').length === 2) host = host.slice(0, host.indexOf(':'));
  return isLoopbackHost(host) || host === 'localhost' || (bound !== undefined && host === bound.host.toLowerCase());
}

function queryOf(url: string | undefined): URLSearchParams {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
}

/** A path segment, percent-decoded; a malformed escape is a 400. */
function decodeSegment(segment: string | undefined): string {
  try {
    return decodeURIComponent(segment ?? '');
  } catch {
    throw new ApiError(400, HTTP_ERROR_CODES.invalidRequest, `the path segment ${JSON.stringify(segment)} is not valid percent-encoding`);
  }
}

function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.search(/[?#]/);
  return q < 0 ? raw : raw.slice(0, q);
}

/**
 * Reads a JSON body of at most `limit` bytes. No body: undefined, or 400 if `required`.
 * A body must be declared application/json (415 otherwise).
 */
async function readJsonBody(req: IncomingMessage, limit: number, required: boolean, example: string): Promise<unknown> {
  const declared = req.headers['content-length'];
  const chunked = req.headers['transfer-encoding'] !== undefined;
  const length = declared === undefined ? undefined : Number(declared);
  if (length !== undefined && length > limit) {
    throw new ApiError(413, HTTP_ERROR_CODES.bodyTooLarge, `the body is ${length} bytes; the limit is ${limit} bytes`);
  }
  const hasBody = chunked || (length !== undefined && length > 0);
  if (!hasBody) {
    if (required) throw new ApiError(400, HTTP_ERROR_CODES.invalidRequest, 'the body is empty: send a JSON object with content-type application/json');
    return undefined;
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type !== 'application/json') {
    throw new ApiError(
      415,
      HTTP_ERROR_CODES.unsupportedMediaType,
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
        reject(new ApiError(413, HTTP_ERROR_CODES.bodyTooLarge, `the body exceeds the limit of ${limit} bytes`));
        return;
      }
      parts.push(chunk);
    });
    req.once('end', () => resolve(parts));
    req.once('error', reject);
  });
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') {
    if (required) throw new ApiError(400, HTTP_ERROR_CODES.invalidRequest, 'the body is empty: send a JSON object with content-type application/json');
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ApiError(400, HTTP_ERROR_CODES.badJson, `the body is not valid JSON (${(err as Error).message}): fix it, e.g. ${example}`);
  }
}
