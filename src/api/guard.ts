/**
 * What the HTTP API checks before any route runs: the bearer token (when one is set), the request
 * rate, the Host header (DNS rebinding) and the Origin header (web pages). Also the rule that the API
 * never listens beyond loopback without a token.
 *
 * - Token: `Authorization: Bearer TOKEN`, or as Consul's clients send it, `X-Consul-Token: TOKEN`
 *   or `?token=TOKEN` (python-consul knows only the query parameter); compared in constant time
 *   (SHA-256 of both sides, then timingSafeEqual). Wrong or missing: 401 HEARSAY_ERR_UNAUTHORIZED,
 *   counted (http.unauthorized). With a tokens file (tokens.ts, --api-tokens) a token from it is
 *   accepted too, with its own scope; check() returns who the caller is (ApiCaller) for the route
 *   to authorize (access.ts). Without any token every caller is LOCAL_CALLER.
 * - Rate: a token bucket per caller (per connection: every local caller is 127.0.0.1, so the
 *   connection is what tells one from another), `maxRequestsPerSecond` refilled per second with a
 *   burst of twice that; an empty bucket answers 429 HEARSAY_ERR_RATE_LIMITED with Retry-After,
 *   counted (http.rateLimited). One flooder only empties its own bucket: another service's TTL
 *   updates on their own connection go through. Event streams count once, when they open.
 * - Host: exactly `NAME[:PORT]` or `[IPV6][:PORT]` naming loopback or the API's own address;
 *   anything else (`127.0.0.1:80@evil.example`, `[::1]evil.example`, `[::1`) is refused.
 */
import type { IncomingMessage } from 'node:http';
import { HearsayError } from '../errors.js';
import { formatHostPort, isLoopbackHost } from '../transport/address.js';
import type { Address } from '../wire/messages.js';
import type { HttpCounterKey } from '../agent/counters.js';
import { API_ERROR_CODES, ApiError } from './errors.js';
import { queryOf } from './http-io.js';
import { HTTP_TOKEN_CALLER, LOCAL_CALLER, PUBLIC_CALLER, type ApiCaller, type TokenTable } from './tokens.js';
import { crypto } from '../builtins.js';


/** The HTTP API was asked to listen beyond loopback without a bearer token. */
export class HttpTokenRequiredError extends HearsayError {
  constructor(where: string) {
    super(
      'HEARSAY_ERR_HTTP_TOKEN_REQUIRED',
      `the HTTP API would listen on ${where}, beyond loopback, without authentication: set a bearer token with --http-token TOKEN ` +
        '(or HEARSAY_HTTP_TOKEN; clients send it as "Authorization: Bearer TOKEN" and the CLI reads HEARSAY_HTTP_TOKEN), or listen on 127.0.0.1',
    );
  }
}

export const HTTP_GUARD_DEFAULTS = Object.freeze({ maxRequestsPerSecond: 10_000 });

export interface HttpGuardOptions {
  /** Required as `Authorization: Bearer TOKEN` on every request when set. @default none */
  readonly token?: string;
  /** The scoped tokens in force (reread by the caller: a function, so a reload swaps them). @default none */
  readonly tokens?: () => TokenTable | undefined;
  /** Sustained request rate per caller (connection); bursts up to twice this. @default 10000 */
  readonly maxRequestsPerSecond?: number;
  /** Milliseconds, monotonic; injected by tests. @default performance.now */
  readonly now?: () => number;
}

/** Throws HttpTokenRequiredError when `host` is not loopback and there is no token. */
export function checkHttpExposure(host: string, port: number, token: string | undefined): void {
  if (isLoopbackHost(host) || (token !== undefined && token.length > 0)) return;
  throw new HttpTokenRequiredError(formatHostPort({ host, port }));
}

export class HttpGuard {
  readonly counters: Record<HttpCounterKey, number> = {
    'http.requests': 0,
    'http.unauthorized': 0,
    'http.rateLimited': 0,
    'http.bodyTooLarge': 0,
    'http.invalidRequests': 0,
    'http.connectionsRefused': 0,
    'http.headerTimeouts': 0,
  };
  private readonly tokenDigest: Buffer | null;
  private readonly tokens: () => TokenTable | undefined;
  private readonly rate: number;
  private readonly burst: number;
  private readonly now: () => number;
  /** Each caller's bucket, kept with its connection (and collected with it). */
  private readonly buckets = new WeakMap<object, { tokens: number; last: number }>();
  /** Requests without a socket (tests) share this key. */
  private readonly noSocket = {};

  constructor(options: HttpGuardOptions = {}) {
    this.tokenDigest = options.token === undefined || options.token === '' ? null : digest(options.token);
    this.tokens = options.tokens ?? (() => undefined);
    this.rate = options.maxRequestsPerSecond ?? HTTP_GUARD_DEFAULTS.maxRequestsPerSecond;
    this.burst = Math.max(1, this.rate * 2);
    this.now = options.now ?? (() => performance.now());
  }

  /**
   * Throws ApiError (401, 429, 403) for a request that may not proceed; `bound` is the API's own
   * address. Returns who the caller is. A `publicPath` (the web view's static files: no data, no
   * effect) needs no token and may carry an Origin (a browser sends one with every module script,
   * even from the same origin); the rate and Host rules hold for it too.
   */
  check(req: IncomingMessage, bound: Address | undefined, publicPath = false): ApiCaller {
    this.counters['http.requests']++;
    const table = this.tokens();
    const authRequired = (this.tokenDigest !== null || table !== undefined) && !publicPath;
    // The web view's static files are served to anyone who passes the other rules, as a caller that may do nothing.
    let who = publicPath ? PUBLIC_CALLER : LOCAL_CALLER;
    if (authRequired) {
      const presented = presentedToken(req);
      const presentedDigest = presented === undefined ? undefined : digest(presented);
      const found =
        presented === undefined
          ? undefined
          : this.tokenDigest !== null && crypto().timingSafeEqual(presentedDigest as Buffer, this.tokenDigest)
            ? HTTP_TOKEN_CALLER
            : table?.lookup(presented);
      if (found !== undefined) who = found;
      else {
        this.counters['http.unauthorized']++;
        throw new ApiError(
          401,
          API_ERROR_CODES.unauthorized,
          presented === undefined
            ? 'this agent requires a bearer token: send "Authorization: Bearer TOKEN" (the CLI reads it from HEARSAY_HTTP_TOKEN; Consul clients send their token as X-Consul-Token)'
            : 'the bearer token is wrong: use the token the agent was started with (--http-token or HEARSAY_HTTP_TOKEN) or one from its --api-tokens file',
          { 'www-authenticate': 'Bearer realm="hearsay"' },
        );
      }
    }
    const t = this.now();
    const caller = (req.socket as object | undefined) ?? this.noSocket;
    let bucket = this.buckets.get(caller);
    if (bucket === undefined) {
      bucket = { tokens: this.burst, last: t };
      this.buckets.set(caller, bucket);
    }
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((t - bucket.last) / 1000) * this.rate);
    bucket.last = t;
    if (bucket.tokens < 1) {
      this.counters['http.rateLimited']++;
      const wait = Math.max(1, Math.ceil((1 - bucket.tokens) / this.rate));
      throw new ApiError(429, API_ERROR_CODES.rateLimited, `too many requests (limit ${this.rate} per second): retry in ${wait} s`, { 'retry-after': String(wait) });
    }
    bucket.tokens -= 1;
    // DNS rebinding: a web page whose name was rebound to 127.0.0.1 sends its own name as Host
    // (and no Origin on a same-origin GET). Without a token, only loopback names are served.
    if (!authRequired && !hostAllowed(req.headers.host, bound)) {
      throw new ApiError(
        403,
        API_ERROR_CODES.forbiddenHost,
        `requests for host ${JSON.stringify(req.headers.host)} are refused: call the API as 127.0.0.1, [::1] or localhost (or start the agent with --http-token)`,
      );
    }
    if (req.headers.origin !== undefined && !publicPath) {
      throw new ApiError(403, API_ERROR_CODES.forbiddenOrigin, 'requests from web pages (with an Origin header) are refused: call the API from a program or the hearsay CLI');
    }
    return who;
  }

  /** Counts a refused request by its status. */
  noteRefused(status: number): void {
    if (status === 413) this.counters['http.bodyTooLarge']++;
    else if (status === 400 || status === 415) this.counters['http.invalidRequests']++;
  }
}

/** The token a request carries: Authorization: Bearer, else X-Consul-Token, else ?token= (Consul's three ways). */
function presentedToken(req: IncomingMessage): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (m !== null) return m[1];
  const consul = req.headers['x-consul-token'];
  if (typeof consul === 'string' && consul.trim() !== '') return consul.trim();
  const q = queryOf(req.url).get('token');
  return q === null || q === '' ? undefined : q;
}

function digest(s: string): Buffer {
  return crypto().createHash('sha256').update(s, 'utf8').digest();
}

const HOST_NAME = /^([a-z0-9](?:[a-z0-9.-]{0,252}[a-z0-9])?)(?::\d{1,5})?$/;
const HOST_IPV6 = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/;

/**
 * Whether a Host header names this agent on loopback (or its bound address); no header is allowed.
 * The header must be exactly a host and an optional port: anything around them is refused.
 */
export function hostAllowed(header: string | undefined, bound: Address | undefined): boolean {
  if (header === undefined || header === '') return true;
  const text = header.trim().toLowerCase();
  const m = HOST_IPV6.exec(text) ?? HOST_NAME.exec(text);
  if (m === null) return false;
  const host = m[1] as string;
  return isLoopbackHost(host) || (bound !== undefined && host === bound.host.toLowerCase());
}
