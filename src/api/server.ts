/**
 * The agent's local HTTP API (node:http, JSON; loopback by default; beyond loopback only with a
 * bearer token): one route table made of the route groups in routes/, one guard before every
 * route (guard.ts), one way to answer an error.
 *
 *   routes/agent.ts     /v1/members, /v1/agent/self, /v1/join, /v1/leave, /metrics
 *   routes/events.ts    /v1/events (Server-Sent Events)
 *   routes/services.ts  /v1/services, /v1/pick, /v1/agent/services, /v1/checks, /v1/maintenance
 *   routes/keys.ts      /v1/keys, /v1/keys/{install,use,remove}
 *   routes/operate.ts   /v1/agent/monitor, /v1/agent/reload, /v1/agent/force-leave/:node
 *
 * Every error is a 4xx/5xx with a JSON body {error, code}: `code` is a stable HEARSAY_ERR_* string
 * and `error` says what was wrong and what to do. Requests carrying an Origin header are refused
 * (403): browsers send one, the CLI and curl do not, so a web page cannot drive the agent.
 *
 * The server only uses the Agent interface; the agent is injected, so tests drive it with a fake.
 * No framework: a table of routes does not need one, and node:http keeps the dependency list short.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Agent } from '../agent/types.js';
import type { Address } from '../wire/messages.js';
import type { ApiContext, HttpServerOptions } from './context.js';
import { toApiError } from './errors.js';
import { checkHttpExposure, HttpGuard } from './guard.js';
import { pathOf, queryOf, readJsonBody, sendJson } from './http-io.js';
import { Router, type RequestContext } from './router.js';
import { agentRoutes } from './routes/agent.js';
import { eventRoutes } from './routes/events.js';
import { keyRoutes } from './routes/keys.js';
import { operateRoutes } from './routes/operate.js';
import { serviceRoutes } from './routes/services.js';

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

export function createHttpServer(agent: Agent, options: HttpServerOptions = {}): HttpServer {
  const log = options.logger;
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
  const guard = new HttpGuard({
    ...(options.token === undefined ? {} : { token: options.token }),
    ...(options.maxRequestsPerSecond === undefined ? {} : { maxRequestsPerSecond: options.maxRequestsPerSecond }),
  });
  let closing: Promise<void> | undefined;
  let bound: Address | undefined;
  let signalClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => (signalClosed = resolve));
  const ctx: ApiContext = { options, log, closed, closing: () => closing !== undefined, httpCounters: () => guard.counters };

  const events = eventRoutes(agent, ctx);
  const router = new Router([...agentRoutes(agent, ctx), ...events.routes, ...serviceRoutes(agent, ctx), ...keyRoutes(options.keys), ...operateRoutes(agent, ctx)]);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const path = pathOf(req.url);
    try {
      guard.check(req, bound);
      const { handler, params } = router.match(method, path);
      const request: RequestContext = {
        req,
        res,
        params,
        query: queryOf(req.url),
        body: (required, example) => readJsonBody(req, maxBodyBytes, required, example),
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
