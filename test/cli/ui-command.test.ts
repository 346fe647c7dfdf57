/**
 * `hearsay ui`: prints the view's URL of the agent at --http (or $HEARSAY_HTTP_ADDR), reports an
 * agent that does not answer, and with --open hands the URL to $BROWSER (here a script that writes
 * what it was given).
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createHttpServer, type HttpServer } from '../../src/api/server.js';
import { opener, uiUrl } from '../../src/cli/commands/ui.js';
import { main } from '../../src/cli/main.js';
import { FakeAgent } from '../api/fake-agent.js';
import { sleep } from '../integration/support.js';
import { capture, closedPort } from './support.js';

let server: HttpServer;
let http: string;

beforeEach(async () => {
  server = createHttpServer(new FakeAgent('web-1'), { token: 'a-token-of-sixteen-chars' });
  const a = await server.listen({ host: '127.0.0.1', port: 0 });
  http = `127.0.0.1:${a.port}`;
});

afterEach(async () => {
  await server.close();
  vi.unstubAllEnvs();
});

describe('hearsay ui', () => {
  it("prints the URL of the agent's view, from --http or $HEARSAY_HTTP_ADDR, and the page is there", async () => {
    const io = capture();
    vi.stubEnv('HEARSAY_HTTP_TOKEN', 'a-token-of-sixteen-chars');
    expect(await main(['ui', '--http', http], io)).toBe(0);
    expect(io.out()).toBe(`http://${http}/ui\n`);
    const page = await fetch(io.out().trim());
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/ui/app.js');
    const json = capture();
    vi.stubEnv('HEARSAY_HTTP_ADDR', `http://${http}`);
    expect(await main(['ui', '--json'], json)).toBe(0);
    expect(JSON.parse(json.out())).toEqual({ url: `http://${http}/ui`, agent: 'web-1' });
  });

  it('still prints the URL of a token-protected agent without the token (the page asks for it)', async () => {
    vi.stubEnv('HEARSAY_HTTP_TOKEN', '');
    const io = capture();
    expect(await main(['ui', '--http', http], io)).toBe(0);
    expect(io.out()).toBe(`http://${http}/ui\n`);
  });

  it('fails with exit code 1 and says what to do when no agent answers', async () => {
    const io = capture();
    expect(await main(['ui', '--http', `127.0.0.1:${await closedPort()}`], io)).toBe(1);
    expect(io.err()).toMatch(/no hearsay agent answers at 127\.0\.0\.1:\d+: start one with `hearsay agent` or pass --http/);
    expect(io.out()).toBe('');
  });

  it('with --open hands the URL to $BROWSER, and only warns when there is no opener', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearsay-ui-open-'));
    const script = join(dir, 'browser.sh');
    // Written aside and renamed, so the file exists only with its line in it (the test waits for it).
    writeFileSync(script, `#!/bin/sh\necho "$1" > ${join(dir, 'opened.tmp')} && mv ${join(dir, 'opened.tmp')} ${join(dir, 'opened')}\n`);
    chmodSync(script, 0o755);
    vi.stubEnv('BROWSER', script);
    vi.stubEnv('HEARSAY_HTTP_TOKEN', 'a-token-of-sixteen-chars');
    const io = capture();
    expect(await main(['ui', '--open', '--http', http], io)).toBe(0);
    expect(io.out()).toBe(`http://${http}/ui\n`);
    for (let i = 0; i < 100 && !existsSync(join(dir, 'opened')); i++) await sleep(20);
    expect(readFileSync(join(dir, 'opened'), 'utf8')).toBe(`http://${http}/ui\n`);
    vi.stubEnv('BROWSER', join(dir, 'no-such-browser'));
    const missing = capture();
    expect(await main(['ui', '--open', '--http', http], missing)).toBe(0);
    expect(missing.out()).toBe(`http://${http}/ui\n`);
    expect(missing.err()).toContain('no browser opener found');
  });

  it('makes URLs for IPv6 and unspecified addresses, and picks the platform opener', () => {
    expect(uiUrl({ host: '::1', port: 7947 })).toBe('http://[::1]:7947/ui');
    expect(uiUrl({ host: '0.0.0.0', port: 7947 })).toBe('http://127.0.0.1:7947/ui');
    expect(uiUrl({ host: '::', port: 7947 })).toBe('http://[::1]:7947/ui');
    expect(opener({}, 'linux').command).toBe('xdg-open');
    expect(opener({}, 'darwin').command).toBe('open');
    expect(opener({ BROWSER: 'firefox' }, 'linux')).toEqual({ command: 'firefox', args: [] });
  });
});
