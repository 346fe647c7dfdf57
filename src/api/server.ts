/**
 * The agent's local HTTP API (node:http, JSON; loopback by default; beyond loopback only with a
 * bearer token): one route table made of the route groups in routes/, one guard before every
 * route (guard.ts), one way to answer an error.
 *
 *   routes/agent.ts     /v1/members, /v1/join, /v1/leave, /metrics
 *   routes/events.ts    /v1/events (Server-Sent Events)
 *   routes/services.ts  /v1/services, /v1/pick, /v1/registrations, /v1/checks, /v1/maintenance
 *   routes/keys.ts      /v1/keys, /v1/keys/{install,use,remove}
 *   routes/operate.ts   /v1/agent/monitor, /v1/agent/reload, /v1/agent/force-leave/:node
 *   routes/instances.ts /v1/instances (every instance in the view)
 *   routes/ui.ts        /ui (the web view's page and files, no token needed), / (302 to /ui)
 *   routes/consul.ts    Consul's /v1/agent/*, /v1/catalog/*, /v1/health/*, /v1/status/*, 501 for
 *                       the rest (KV, sessions, ACL, Connect, ...), and /v1/prometheus/sd
 *
 * Every error is a 4xx/5xx with a JSON body {error, code}: `code` is a stable HEARSAY_ERR_* string
 * and `error` says what was wrong and what to do. Requests carrying an Origin header are refused
 * (403): browsers send one, the CLI and curl do not, so a web page cannot drive the agent.
 *
 * The server only uses the Agent interface; the agent is injected, so tests drive it with a fake.
 * No framework: a table of routes does not need one, and node:http keeps the dependency list short.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { warmJoinThrough } from '../agent/warm-up.js';
import { formatHostPort } from '../transport/address.js';
import { HTTP_DURATION_BUCKETS, HTTP_DURATION_LABELS } from '../agent/counters.js';
import type { Agent } from '../agent/types.js';
import { LabelledHistograms } from '../util/histogram.js';
import type { Address } from '../wire/messages.js';
import type { ApiContext, HttpServerOptions } from './context.js';
import { toApiError } from './errors.js';
import { checkHttpExposure, HttpGuard } from './guard.js';
import { accessOf, authorizeRoute } from './access.js';
import { pathOf, queryOf, readJsonBody, sendJson } from './http-io.js';
import { Router, type RequestContext } from './router.js';
import { RuntimeMetrics } from './runtime-metrics.js';
import { BlockingSlots } from './blocking.js';
import { agentRoutes } from './routes/agent.js';
import { CONSUL_ROUTES_NOTE, consulRoutes } from './routes/consul.js';
import { eventRoutes } from './routes/events.js';
import { identityRoutes } from './routes/identity.js';
import { keyRoutes } from './routes/keys.js';
import { operateRoutes } from './routes/operate.js';
import { serviceRoutes } from './routes/services.js';
import { uiRoutes } from './routes/ui.js';
import { instanceRoutes } from './routes/instances.js';

export type { HttpServerOptions } from './context.js';

export interface HttpServer {
  /** Listens on `address` (port 0 picks a free one); resolves with the bound address. */
  listen(address: Address): Promise<Address>;
  /** The bound address once listening. */
  readonly address: Address | undefined;
  /** Ends event streams, stops accepting, closes connections. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A quarter of the soft open-file limit (Linux: /proc/self/limits), at most 1024; 256 where it cannot be read. */
export function defaultMaxConnections(): number {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m !== null) return Math.max(16, Math.min(1024, Math.floor(Number(m[1]) / 4)));
  } catch {
    // not Linux
  }
  return 256;
}

/** Methods named in hearsay_http_request_duration_seconds; any other is `other` (the label set stays bounded). */
const METHOD_LABELS = new Set(['GET', 'PUT', 'POST', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH']);

/** At most `limit` tasks at once; the others wait their turn in order. */
class Semaphore {
  private active = 0;
  private readonly queue: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }
}

/**
 * The warm-up's join (agent/warm-up.ts) through a throwaway API server of the throwaway joiner:
 * one POST /v1/join over loopback, so that a fresh agent's one real join through its API does not
 * run the request's path (routing, the body read and parsed, the answer) for the first time.
 */
export async function warmUpJoinOverHttp(joiner: Agent, seed: Address): Promise<void> {
  const server = createHttpServer(joiner);
  try {
    const api = await server.listen({ host: '127.0.0.1', port: 0 });
    const body = JSON.stringify({ addrs: [formatHostPort(seed)] });
    const head = `POST /v1/join HTTP/1.1\r\nhost: ${formatHostPort(api)}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n`;
    await new Promise<void>((resolve, reject) => {
      const socket = connect(api.port, api.host, () => socket.write(head + body));
      socket.setTimeout(2000, () => socket.destroy(new Error('no answer')));
      socket.on('data', () => undefined);
      socket.once('error', reject);
      socket.once('close', () => resolve());
    });
  } finally {
    await server.close();
  }
}

export function createHttpServer(agent: Agent, options: HttpServerOptions = {}): HttpServer {
  warmJoinThrough(warmUpJoinOverHttp);
  const log = options.logger;
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
  const headerTimeoutMs = options.headerTimeoutMs ?? 10_000;
  // Bodies are read a few at a time (the others wait, unread, with TCP backpressure), so a burst of
  // large requests cannot grow the heap by hundreds of megabytes that V8 is slow to give back.
  const bodies = new Semaphore(options.maxConcurrentBodies ?? 16);
  const guard = new HttpGuard({
    ...(options.token === undefined ? {} : { token: options.token }),
    ...(options.tokens === undefined ? {} : { tokens: options.tokens }),
    ...(options.maxRequestsPerSecond === undefined ? {} : { maxRequestsPerSecond: options.maxRequestsPerSecond }),
  });
  let closing: Promise<void> | undefined;
  let bound: Address | undefined;
  const closeListeners = new Set<() => void>();
  const onClose = (fn: () => void): (() => void) => {
    if (closing !== undefined) {
      fn();
      return () => {};
    }
    closeListeners.add(fn);
    return () => closeListeners.delete(fn);
  };
  const durations = new LabelledHistograms(HTTP_DURATION_LABELS, HTTP_DURATION_BUCKETS);
  const runtime = new RuntimeMetrics();
  let leaving: Promise<void> | undefined;
  const ctx: ApiContext = {
    options,
    log,
    onClose,
    closing: () => closing !== undefined,
    httpCounters: () => guard.counters,
    httpDurations: () => durations.snapshot(),
    runtime,
    blocking: new BlockingSlots(options.maxBlockingQueries ?? 1024),
    leave: (timeoutMs) => (leaving ??= agent.leave(timeoutMs === undefined ? {} : { timeoutMs })),
  };

  const events = eventRoutes(agent, ctx);
  const consul = consulRoutes(agent, ctx);
  const router = new Router(
    [...agentRoutes(agent, ctx), ...events.routes, ...serviceRoutes(agent, ctx), ...instanceRoutes(agent), ...keyRoutes(options.keys), ...identityRoutes(agent), ...operateRoutes(agent, ctx), ...consul.routes, ...uiRoutes(ctx)],
    CONSUL_ROUTES_NOTE,
  );

  /** Times a request until its answer ends (or the connection closes first), labelled by route template, never the raw path. */
  const timeRequest = (method: string, path: string, res: ServerResponse, route: () => string | undefined): void => {
    const started = performance.now();
    let done = false;
    const observe = (): void => {
      if (done) return;
      done = true;
      const code = res.headersSent ? String(res.statusCode) : 'aborted';
      durations.observe([METHOD_LABELS.has(method) ? method : 'other', route() ?? router.routeOf(path) ?? 'unmatched', code], (performance.now() - started) / 1000);
    };
    res.once('finish', observe);
    res.once('close', observe);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const path = pathOf(req.url);
    let route: string | undefined;
    timeRequest(method, path, res, () => route);
    try {
      const caller = guard.check(req, bound, router.isPublic(method, path));
      const { handler, params, route: matched, access, maxBodyBytes: routeMax } = router.match(method, path);
      route = matched;
      authorizeRoute(caller, accessOf(method, access), method, matched);
      const request: RequestContext = {
        req,
        res,
        params,
        caller,
        query: queryOf(req.url),
        body: (required, example) => bodies.run(() => readJsonBody(req, Math.max(maxBodyBytes, routeMax ?? 0), required, example)),
        json: (status, body, headers) => sendJson(res, status, body, headers),
      };
      await handler(request);
      log?.debug({ method, path, status: res.statusCode }, 'http request');
    } catch (err) {
      const e = toApiError(err);
      guard.noteRefused(e.status);
      if (e.status >= 500) log?.error({ err, method, path }, 'http request failed');
      else log?.debug({ method, path, status: e.status, code: e.code }, 'http request rejected');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // A body we did not read: close the connection rather than read it. (A request without a
      // body keeps its connection: a refused caller must not get a fresh rate bucket by it.)
      const headers: Record<string, string> = { ...e.headers };
      const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
      if (hasBody && !req.complete) headers.connection = 'close';
      sendJson(res, e.status, { error: e.message, code: e.code }, headers);
    }
  };

  const server: Server = createServer({ headersTimeout: headerTimeoutMs, requestTimeout: Math.max(headerTimeoutMs, 30_000) }, (req, res) => {
    void handle(req, res);
  });
  server.maxConnections = options.maxConnections ?? defaultMaxConnections();
  server.on('drop', () => guard.counters['http.connectionsRefused']++);
  // Node's headersTimeout starts with the first byte: a connection that sends nothing is cut here.
  server.on('connection', (socket) => {
    const timer = setTimeout(() => {
      guard.counters['http.headerTimeouts']++;
      socket.destroy();
    }, headerTimeoutMs);
    timer.unref();
    socket.once('data', () => clearTimeout(timer));
    socket.once('close', () => clearTimeout(timer));
  });

  return {
    listen(address: Address): Promise<Address> {
      try {
        checkHttpExposure(address.host, address.port, options.token ?? (options.tokens === undefined ? undefined : 'scoped tokens'));
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
        runtime.stop();
        consul.stop();
        for (const fn of [...closeListeners]) fn();
        closeListeners.clear();
        events.endAll();
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
