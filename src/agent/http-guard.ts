/**
 * What the HTTP API checks before any route runs: the bearer token (when one is set) and the
 * request rate. Also the rule that the API never listens beyond loopback without a token.
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

/** A request refused with this status and body {error, code}. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Readonly<Record<string, string>>;
  constructor(status: number, code: string, message: string, headers: Readonly<Record<string, string>> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

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
/** Shortest bearer token accepted. */
export const MIN_TOKEN_LENGTH = 16;

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
  readonly counters = { 'http.requests': 0, 'http.unauthorized': 0, 'http.rateLimited': 0, 'http.bodyTooLarge': 0, 'http.invalidRequests': 0 };
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

  /** Throws ApiError (401, 429) for a request that may not proceed. */
  check(req: IncomingMessage): void {
    this.counters['http.requests']++;
    if (this.tokenDigest !== null) {
      const header = req.headers.authorization ?? '';
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (m === null || !timingSafeEqual(digest(m[1] as string), this.tokenDigest)) {
        this.counters['http.unauthorized']++;
        throw new ApiError(
          401,
          'HEARSAY_ERR_UNAUTHORIZED',
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
      throw new ApiError(429, 'HEARSAY_ERR_RATE_LIMITED', `too many requests (limit ${this.rate} per second): retry in ${wait} s`, { 'retry-after': String(wait) });
    }
    this.tokens -= 1;
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
