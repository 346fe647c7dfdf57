/**
 * What the HTTP API checks before any route runs: the bearer token (when one is set), the request
 * rate, the Host header (DNS rebinding) and the Origin header (web pages). Also the rule that the API
 * never listens beyond loopback without a token.
 *
 * - Token: `Authorization: Bearer TOKEN`, compared in constant time (SHA-256 of both sides, then
 *   timingSafeEqual). Wrong or missing: 401 HEARSAY_ERR_UNAUTHORIZED, counted (http.unauthorized).
 * - Rate: a token bucket over all requests, `maxRequestsPerSecond` refilled per second with a burst
 *   of twice that; an empty bucket answers 429 HEARSAY_ERR_RATE_LIMITED with Retry-After, counted
 *   (http.rateLimited). Event streams count once, when they open.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HearsayError } from '../errors.js';
import { formatHostPort, isLoopbackHost } from '../transport/address.js';
import type { Address } from '../wire/messages.js';
import type { HttpCounterKey } from '../agent/counters.js';
import { API_ERROR_CODES, ApiError } from './errors.js';

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
  /** Sustained request rate; bursts up to twice this. @default 10000 */
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
  readonly counters: Record<HttpCounterKey, number> = { 'http.requests': 0, 'http.unauthorized': 0, 'http.rateLimited': 0, 'http.bodyTooLarge': 0, 'http.invalidRequests': 0 };
  private readonly tokenDigest: Buffer | null;
  private readonly rate: number;
  private readonly burst: number;
  private readonly now: () => number;
  private tokens: number;
  private last: number;

  constructor(options: HttpGuardOptions = {}) {
    this.tokenDigest = options.token === undefined || options.token === '' ? null : digest(options.token);
    this.rate = options.maxRequestsPerSecond ?? HTTP_GUARD_DEFAULTS.maxRequestsPerSecond;
    this.burst = Math.max(1, this.rate * 2);
    this.now = options.now ?? (() => performance.now());
    this.tokens = this.burst;
    this.last = this.now();
  }

  /** Throws ApiError (401, 429, 403) for a request that may not proceed; `bound` is the API's own address. */
  check(req: IncomingMessage, bound: Address | undefined): void {
    this.counters['http.requests']++;
    if (this.tokenDigest !== null) {
      const header = req.headers.authorization ?? '';
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (m === null || !timingSafeEqual(digest(m[1] as string), this.tokenDigest)) {
        this.counters['http.unauthorized']++;
        throw new ApiError(
          401,
          API_ERROR_CODES.unauthorized,
          m === null
            ? 'this agent requires a bearer token: send "Authorization: Bearer TOKEN" (the CLI reads it from HEARSAY_HTTP_TOKEN)'
            : 'the bearer token is wrong: use the token the agent was started with (--http-token or HEARSAY_HTTP_TOKEN)',
          { 'www-authenticate': 'Bearer realm="hearsay"' },
        );
      }
    }
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
    if (this.tokens < 1) {
      this.counters['http.rateLimited']++;
      const wait = Math.max(1, Math.ceil((1 - this.tokens) / this.rate));
      throw new ApiError(429, API_ERROR_CODES.rateLimited, `too many requests (limit ${this.rate} per second): retry in ${wait} s`, { 'retry-after': String(wait) });
    }
    this.tokens -= 1;
    // DNS rebinding: a web page whose name was rebound to 127.0.0.1 sends its own name as Host
    // (and no Origin on a same-origin GET). Without a token, only loopback names are served.
    if (this.tokenDigest === null && !hostAllowed(req.headers.host, bound)) {
      throw new ApiError(
        403,
        API_ERROR_CODES.forbiddenHost,
        `requests for host ${JSON.stringify(req.headers.host)} are refused: call the API as 127.0.0.1, [::1] or localhost (or start the agent with --http-token)`,
      );
    }
    if (req.headers.origin !== undefined) {
      throw new ApiError(403, API_ERROR_CODES.forbiddenOrigin, 'requests from web pages (with an Origin header) are refused: call the API from a program or the hearsay CLI');
    }
  }

  /** Counts a refused request by its status. */
  noteRefused(status: number): void {
    if (status === 413) this.counters['http.bodyTooLarge']++;
    else if (status === 400 || status === 415) this.counters['http.invalidRequests']++;
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Whether a Host header names this agent on loopback (or its bound address); no header is allowed. */
function hostAllowed(header: string | undefined, bound: Address | undefined): boolean {
  if (header === undefined || header === '') return true;
  let host = header.trim().toLowerCase();
  if (host.startsWith('[')) host = host.slice(1, host.indexOf(']') < 0 ? undefined : host.indexOf(']'));
  else if (host.split(':').length === 2) host = host.slice(0, host.indexOf(':'));
  return isLoopbackHost(host) || (bound !== undefined && host === bound.host.toLowerCase());
}
