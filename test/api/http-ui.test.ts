/**
 * What the web view needs of the HTTP server: /ui and its files (public, gzip, ETag, CSP, no path
 * outside the list), / redirecting, the token rule (files without, data with), Origin allowed only
 * on the files, GET /v1/instances, and the agent-health events of GET /v1/events?health.
 * The size budget of the assets is checked here too.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { healthSample, rttBetween } from '../../src/api/health.js';
import { pageCsp } from '../../src/api/routes/ui.js';
import { createHttpServer, type HttpServer } from '../../src/api/server.js';
import { findPackageRoot, UiAssets, UiAssetsMissingError } from '../../src/ui/assets.js';
import type { Address } from '../../src/wire/messages.js';
import { FakeAgent } from './fake-agent.js';
import { call } from './http-support.js';

let server: HttpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(agent = new FakeAgent(), options: Parameters<typeof createHttpServer>[1] = {}): Promise<Address> {
  server = createHttpServer(agent, options);
  return server.listen({ host: '127.0.0.1', port: 0 });
}

const TOKEN = 'a-token-of-sixteen-chars';

describe('the web view files', () => {
  it('redirects / to /ui and serves the page with a CSP that allows only this origin and its import map', async () => {
    const at = await start();
    const root = await call(at, '/');
    expect(root.status).toBe(302);
    expect(root.headers.location).toBe('/ui');
    for (const path of ['/ui', '/ui/', '/ui/index.html']) {
      const page = await call(at, path);
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.text).toContain('<script type="module" src="/ui/app.js">');
      const csp = String(page.headers['content-security-policy']);
      expect(csp).toContain("connect-src 'self'");
      expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
      expect(csp).toBe(pageCsp(page.text));
    }
  });

  it('serves every module the page imports and the libraries from node_modules, and nothing else', async () => {
    const at = await start();
    const page = (await call(at, '/ui')).text;
    const app = (await call(at, '/ui/app.js')).text;
    // Every URL the page and app name is served here (none on another host).
    const urls = [...page.matchAll(/(?:src|href)="(\/ui\/[^"]+)"/g), ...page.matchAll(/"(\/ui\/vendor\/[^"]+)"/g)].map((m) => m[1] as string);
    const imports = [...app.matchAll(/from '\.\/([a-z-]+\.js)'/g)].map((m) => `/ui/${m[1] as string}`);
    expect(urls.length).toBeGreaterThanOrEqual(5);
    expect(imports.length).toBeGreaterThanOrEqual(4);
    for (const url of [...urls, ...imports]) {
      const res = await call(at, url);
      expect(res.status, url).toBe(200);
      expect(String(res.headers['content-type']), url).toMatch(/^text\/(javascript|css)/);
    }
    expect(page).not.toMatch(/https?:\/\//);
    for (const bad of ['/ui/../package.json', '/ui/%2e%2e/package.json', '/ui/vendor/../../package.json', '/ui/nope.js', '/ui/tsconfig.json', '/ui/vendor/preact']) {
      expect((await call(at, bad)).status, bad).toBe(404);
    }
  });

  it('answers with gzip when asked, and 304 to a matching If-None-Match', async () => {
    const at = await start();
    const plain = await call(at, '/ui/vendor/preact.mjs');
    const gz = await call(at, '/ui/vendor/preact.mjs', { headers: { 'accept-encoding': 'gzip, br' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(Number(gz.headers['content-length'])).toBeLessThan(Number(plain.headers['content-length']));
    const again = await call(at, '/ui/vendor/preact.mjs', { headers: { 'if-none-match': String(plain.headers.etag) } });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
  });

  it('keeps the gzipped assets within a budget of 64 KiB', () => {
    const assets = new UiAssets();
    const sizes = Object.fromEntries(assets.paths().map((p) => [p, (assets.get(p) as { gzip: Buffer }).gzip.length]));
    const total = Object.values(sizes).reduce((a, b) => a + b, 0);
    expect(gunzipSync((assets.get('index.html') as { gzip: Buffer }).gzip).toString('utf8')).toContain('importmap');
    expect(total, JSON.stringify(sizes)).toBeLessThan(64 * 1024);
  });

  it('finds the package root from any folder inside it, and says what is missing from a broken one', () => {
    const root = findPackageRoot() as string;
    expect(findPackageRoot(join(root, 'dist', 'src', 'cli'))).toBe(root);
    expect(findPackageRoot(tmpdir())).toBeUndefined();
    const broken = mkdtempSync(join(tmpdir(), 'hearsay-ui-'));
    mkdirSync(join(broken, 'ui'));
    writeFileSync(join(broken, 'package.json'), '{"name": "hearsay"}');
    writeFileSync(join(broken, 'ui', 'index.html'), '<!doctype html>');
    expect(() => new UiAssets(broken)).toThrow(UiAssetsMissingError);
    expect(() => new UiAssets(broken)).toThrow(/preact is not installed.*reinstall hearsay/);
  });
});

describe('the token and Origin rules', () => {
  it('serves the files without the token, and the data only with it', async () => {
    const at = await start(new FakeAgent(), { token: TOKEN });
    expect((await call(at, '/ui')).status).toBe(200);
    expect((await call(at, '/ui/app.js')).status).toBe(200);
    expect((await call(at, '/')).status).toBe(302);
    expect((await call(at, '/v1/members')).status).toBe(401);
    expect((await call(at, '/v1/instances')).status).toBe(401);
    expect((await call(at, '/v1/events?health')).status).toBe(401);
    expect((await call(at, '/v1/members', { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    // A public path does not open a route beside it: this is a file name under /ui, and none.
    const dotted = await call(at, '/ui/../v1/members');
    expect(dotted.status).toBe(404);
    expect(dotted.text).not.toContain('fake-1');
  });

  it('allows an Origin on the files (browsers send one with module scripts) and still refuses it on the API', async () => {
    const at = await start();
    const origin = { origin: `http://127.0.0.1:${at.port}` };
    expect((await call(at, '/ui/app.js', { headers: origin })).status).toBe(200);
    expect((await call(at, '/v1/members', { headers: origin })).status).toBe(403);
    expect((await call(at, '/v1/services', { method: 'PUT', headers: { ...origin, 'content-type': 'application/json' }, body: '{"name":"x","port":1}' })).status).toBe(403);
    // The Host rule holds for the files too (DNS rebinding).
    expect((await call(at, '/ui', { headers: { host: 'evil.example' } })).status).toBe(403);
  });
});

describe('GET /v1/instances', () => {
  it('lists every instance of every name and status, with the overall index', async () => {
    const agent = new FakeAgent();
    const at = await start(agent);
    agent.register({ id: 'a-1', name: 'alpha', port: 1 });
    agent.register({ id: 'b-1', name: 'beta', port: 2, checks: [{ ttl: '30s' }] });
    const res = await call(at, '/v1/instances');
    expect(res.status).toBe(200);
    const list = res.json() as { id: string; name: string; status: string; node: string }[];
    expect(list.map((i) => i.id).sort()).toEqual(['a-1', 'b-1']);
    expect(list.find((i) => i.id === 'b-1')?.status).toBe('critical');
    expect(list.every((i) => i.node === 'fake-1')).toBe(true);
    expect(res.headers['x-hearsay-index']).toBe(String(agent.servicesIndex()));
  });
});

describe('GET /v1/events?health', () => {
  /** Reads the stream until an agent-health message; returns its data. */
  async function firstHealth(at: Address, path: string, timeoutMs = 3000): Promise<Record<string, unknown> | undefined> {
    const res = await fetch(`http://127.0.0.1:${at.port}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
    const reader = (res.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return undefined;
        text += value;
        const m = /event: agent-health\ndata: (.*)\n\n/.exec(text);
        if (m !== null) return JSON.parse(m[1] as string) as Record<string, unknown>;
      }
    } catch {
      return undefined;
    } finally {
      void reader.cancel().catch(() => {});
    }
  }

  it('sends agent-health samples to the streams that ask, with the interval deltas', async () => {
    const agent = new FakeAgent();
    const at = await start(agent, { healthIntervalMs: 50 });
    const bump = setInterval(() => {
      agent.counterValues['packetsIn'] = (agent.counterValues['packetsIn'] ?? 0) + 3;
      agent.counterValues['dropped.malformed'] = (agent.counterValues['dropped.malformed'] ?? 0) + 1;
    }, 5);
    try {
      const sample = await firstHealth(at, '/v1/events?health');
      expect(sample).toBeDefined();
      expect(sample?.['intervalMs']).toBeGreaterThan(0);
      expect(sample?.['packetsIn']).toBeGreaterThan(0);
      expect((sample?.['dropped'] as Record<string, number>)['dropped.malformed']).toBeGreaterThan(0);
      expect(sample?.['probeRtt']).toEqual({ direct: { count: 0, meanMs: null, p99Ms: null }, indirect: { count: 0, meanMs: null, p99Ms: null }, stream: { count: 0, meanMs: null, p99Ms: null } });
      // A stream that did not ask gets none (it ends at the timeout without one).
      expect(await firstHealth(at, '/v1/events', 500)).toBeUndefined();
    } finally {
      clearInterval(bump);
    }
  });

  it('summarizes round trips from the histogram buckets of the interval', () => {
    const bounds = [0.001, 0.01, 0.1];
    const before = { bounds, cumulative: [10, 10, 10, 10], sum: 0.005, count: 10 };
    const after = { bounds, cumulative: [10, 108, 110, 110], sum: 0.005 + 100 * 0.004, count: 110 };
    expect(rttBetween(before, after)).toEqual({ count: 100, meanMs: 4, p99Ms: 100 });
    expect(rttBetween(after, after)).toEqual({ count: 0, meanMs: null, p99Ms: null });
    const s = healthSample(
      { counters: { packetsOut: 5, 'transport.dropped.read-timeout': 1 }, histograms: {} },
      { counters: { packetsOut: 9, 'transport.dropped.read-timeout': 3, 'members.alive': 4, healthScore: 1 }, histograms: {} },
      2000,
      new Date(0),
      null,
    );
    expect(s).toMatchObject({ packetsOut: 4, dropped: { 'transport.dropped.read-timeout': 2 }, members: { alive: 4, suspect: 0 }, healthScore: 1, at: '1970-01-01T00:00:00.000Z' });
  });
});
