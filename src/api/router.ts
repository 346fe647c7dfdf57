/**
 * The API's routes as one table: `{method, path, handler}` with `:name` segments (and
 * `:name(a|b)` for a fixed choice) and a final `*` for "one or more segments" (the unsupported
 * Consul families: /v1/kv/*), matched most-literal first, wildcards last. The one place that
 * answers 404 (with the list of routes) and 405 (with Allow).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { API_ERROR_CODES, ApiError } from './errors.js';
import type { RouteAccess } from './access.js';
import type { ApiCaller } from './tokens.js';

export type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

/** What a handler is given. */
export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Path parameters, percent-decoded. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** Who is calling, with what scope (tokens.ts); the route's `access` has been checked already. */
  readonly caller: ApiCaller;
  /** Reads the JSON body: undefined when there is none (400 when `required`). `example` shows a good one in errors. */
  body(required: boolean, example: string): Promise<unknown>;
  /** Answers with JSON. */
  json(status: number, body: unknown, headers?: Readonly<Record<string, string>>): void;
}

export type Handler = (ctx: RequestContext) => Promise<void> | void;

export interface Route {
  readonly method: Method;
  /** e.g. `/v1/services/:name` or `/v1/checks/:id/:action(pass|warn|fail)`. */
  readonly path: string;
  readonly handler: Handler;
  /** Who may call it (access.ts). @default 'read' for GET, 'operator' for the other methods */
  readonly access?: RouteAccess;
  /** False: left out of the list a 404 gives (the Consul routes, which a note names instead). @default true */
  readonly listed?: boolean;
  /** True: served without the bearer token (the web view's static files); every other guard rule still applies. @default false */
  readonly public?: boolean;
  /** The largest body this route reads, when it needs more than the server's maxBodyBytes (a revocation list). @default maxBodyBytes */
  readonly maxBodyBytes?: number;
}

type Segment = { readonly literal: string } | { readonly param: string; readonly choices?: readonly string[] };

interface Compiled {
  readonly route: Route;
  readonly segments: readonly Segment[];
  readonly literals: number;
  /** The path ends in `*`: it matches any path of at least `segments.length + 1` segments that starts with them. */
  readonly wildcard: boolean;
}

export type Match =
  | { readonly kind: 'found'; readonly handler: Handler; readonly params: Readonly<Record<string, string>>; readonly route: string; readonly access?: RouteAccess; readonly maxBodyBytes?: number }
  | { readonly kind: 'wrong-method'; readonly allow: readonly Method[] };

function compile(route: Route): Compiled {
  const parts = route.path.split('/').slice(1);
  const wildcard = parts.at(-1) === '*';
  const segments = (wildcard ? parts.slice(0, -1) : parts)
    .map((s): Segment => {
      const m = /^:([A-Za-z]+)(?:\(([^)]+)\))?$/.exec(s);
      if (m === null) return { literal: s };
      return m[2] === undefined ? { param: m[1] as string } : { param: m[1] as string, choices: m[2].split('|') };
    });
  return { route, segments, literals: segments.filter((s) => 'literal' in s).length, wildcard };
}

/** A path segment, percent-decoded; a malformed escape is a 400. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ApiError(400, API_ERROR_CODES.invalidRequest, `the path segment ${JSON.stringify(segment)} is not valid percent-encoding`);
  }
}

export class Router {
  private readonly routes: readonly Compiled[];
  /** The public routes (the web view's files), apart: every request asks whether it is one. */
  private readonly publicRoutes: readonly Compiled[];
  /** "GET /v1/members, ..." for 404 answers. */
  readonly summary: string;

  /** `note` ends the 404 list (what the unlisted routes are). */
  constructor(routes: readonly Route[], note?: string) {
    const seen = new Set<string>();
    for (const r of routes) {
      const key = `${r.method} ${r.path}`;
      if (seen.has(key)) throw new Error(`route ${key} is declared twice`);
      seen.add(key);
    }
    // Most literal segments first: /v1/agent/service/register before /v1/agent/service/:id; wildcards after every exact path.
    this.routes = routes.map(compile).sort((a, b) => Number(a.wildcard) - Number(b.wildcard) || b.literals - a.literals);
    this.publicRoutes = this.routes.filter((c) => c.route.public === true);
    const listed = routes.filter((r) => r.listed !== false).map((r) => `${r.method} ${r.path.replace(/:[A-Za-z]+\(([^)]+)\)/g, '$1')}`);
    this.summary = listed.join(', ') + (note === undefined ? '' : `, ${note}`);
  }

  /** The handler for `method path`; throws 404 (no route has the path) or 405 (others have it). */
  match(method: string, path: string): Match & { kind: 'found' } {
    const parts = path.split('/').slice(1);
    const allow: Method[] = [];
    for (const c of this.routes) {
      const params = this.params(c, parts);
      if (params === undefined) continue;
      if (c.route.method !== method) {
        if (!allow.includes(c.route.method)) allow.push(c.route.method);
        continue;
      }
      const decoded: Record<string, string> = {};
      for (const [k, v] of Object.entries(params)) decoded[k] = decodeSegment(v);
      return {
        kind: 'found',
        handler: c.route.handler,
        params: decoded,
        route: c.route.path,
        ...(c.route.access === undefined ? {} : { access: c.route.access }),
        ...(c.route.maxBodyBytes === undefined ? {} : { maxBodyBytes: c.route.maxBodyBytes }),
      };
    }
    if (allow.length === 0) throw new ApiError(404, API_ERROR_CODES.notFound, `no route for ${method} ${path}: the API serves ${this.summary}`);
    const list = allow.join(', ');
    throw new ApiError(405, API_ERROR_CODES.methodNotAllowed, `${path} does not accept ${method}: use ${list}`, { allow: list });
  }

  /** Whether `method path` is a public route (served without the token). */
  isPublic(method: string, path: string): boolean {
    if (this.publicRoutes.length === 0) return false;
    const parts = path.split('/').slice(1);
    return this.publicRoutes.some((c) => c.route.method === method && this.params(c, parts) !== undefined);
  }

  /** The path template of the route that has `path` (for any method), e.g. `/v1/services/:name`; undefined for none. */
  routeOf(path: string): string | undefined {
    const parts = path.split('/').slice(1);
    return this.routes.find((c) => this.params(c, parts) !== undefined)?.route.path;
  }

  private params(c: Compiled, parts: readonly string[]): Record<string, string> | undefined {
    if (c.wildcard ? parts.length <= c.segments.length : parts.length !== c.segments.length) return undefined;
    const out: Record<string, string> = {};
    for (let i = 0; i < c.segments.length; i++) {
      const seg = c.segments[i] as Segment;
      const part = parts[i] as string;
      if ('literal' in seg) {
        if (seg.literal !== part) return undefined;
      } else {
        if (part === '' || (seg.choices !== undefined && !seg.choices.includes(part))) return undefined;
        out[seg.param] = part;
      }
    }
    return out;
  }
}
