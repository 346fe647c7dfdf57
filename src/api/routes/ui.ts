/**
 * The web view's routes (src/ui/assets.ts finds the files):
 *
 *   GET /          302 to /ui
 *   GET /ui        the page (ui/index.html); also /ui/
 *   GET /ui/*      its modules and styles, and the libraries under /ui/vendor/
 *
 * These are `public`: served without the bearer token (they hold no data and no secret, and the
 * page must load to ask for the token); the guard's loopback, Host, Origin and rate rules still
 * apply. Everything the page shows it reads from the token-protected API, sending the token the
 * user typed as `Authorization: Bearer`.
 *
 * Answers carry an ETag (304 to If-None-Match), gzip when the client accepts it, `no-cache` (so a
 * new agent version is picked up at once) and, on the page, a Content-Security-Policy that lets it
 * load only this agent's own scripts, styles and API.
 */
import type * as Crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiContext } from '../context.js';
import { API_ERROR_CODES, ApiError } from '../errors.js';
import type { Route } from '../router.js';
import { UiAssets, UiAssetsMissingError, type UiAsset } from '../../ui/assets.js';

/** node:crypto, loaded on first use: an agent that never needs it does not pay for it at start (bench:light). */
const crypto = (): typeof Crypto => process.getBuiltinModule('node:crypto');

/** The Content-Security-Policy of the page: its inline import map by hash, everything else from this origin only. */
export function pageCsp(html: string): string {
  const hashes = [...html.matchAll(/<script type="importmap">([\s\S]*?)<\/script>/g)].map((m) => `'sha256-${crypto().createHash('sha256').update(m[1] ?? '').digest('base64')}'`);
  return [
    "default-src 'none'",
    `script-src 'self' ${hashes.join(' ')}`.trim(),
    "style-src 'self' 'unsafe-inline'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function send(req: IncomingMessage, res: ServerResponse, asset: UiAsset, extra: Readonly<Record<string, string>> = {}): void {
  const headers: Record<string, string | number> = {
    'content-type': asset.type,
    'cache-control': 'no-cache',
    etag: asset.etag,
    'x-content-type-options': 'nosniff',
    vary: 'accept-encoding',
    ...extra,
  };
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const body = gzip ? asset.gzip : asset.body;
  res.writeHead(200, { ...headers, 'content-length': body.length, ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
  res.end(body);
}

export function uiRoutes(ctx: Pick<ApiContext, 'log'>, load: () => UiAssets = () => new UiAssets()): Route[] {
  let assets: UiAssets | undefined;
  let csp: string | undefined;
  const get = (path: string): UiAsset | undefined => {
    try {
      assets ??= load();
    } catch (err) {
      if (!(err instanceof UiAssetsMissingError)) throw err;
      ctx.log?.error({ err }, 'the web view cannot be served');
      throw new ApiError(500, 'HEARSAY_ERR_UI_MISSING', err.message);
    }
    return assets.get(path);
  };
  const page = (req: IncomingMessage, res: ServerResponse): void => {
    const asset = get('index.html') as UiAsset;
    csp ??= pageCsp(asset.body.toString('utf8'));
    send(req, res, asset, { 'content-security-policy': csp, 'referrer-policy': 'no-referrer' });
  };
  return [
    {
      method: 'GET',
      path: '/',
      public: true,
      listed: false,
      handler: ({ res }) => {
        res.writeHead(302, { location: '/ui', 'content-length': 0 });
        res.end();
      },
    },
    { method: 'GET', path: '/ui', public: true, handler: ({ req, res }) => page(req, res) },
    {
      method: 'GET',
      path: '/ui/*',
      public: true,
      listed: false,
      handler: ({ req, res }) => {
        const path = (req.url ?? '').split(/[?#]/)[0]?.slice('/ui/'.length) ?? '';
        if (path === '' || path === 'index.html') return page(req, res);
        const asset = get(path);
        if (asset === undefined) throw new ApiError(404, API_ERROR_CODES.notFound, `the web view has no file ${JSON.stringify(path)}: open /ui`);
        send(req, res, asset);
      },
    },
  ];
}
