/**
 * The web view in a real browser (Debian's Chromium, headless, driven by playwright-core): five
 * real agents on 127.0.0.1 and the page of the first. It lists all five; a kill -9 turns that node
 * suspect and then dead on the page within the protocol's bound (computed from the `local` profile
 * the agents run); a registration through the API appears; a failing check turns its instance
 * critical; another node's instance's detail shows that node's checks and their output, live. A
 * screenshot of each state goes to test-output/ui/. Then a token-protected agent (the page asks once, and keeps the token for the tab) and the view of a generated mesh of 1,000
 * members and 10,000 instances through the real HTTP server (test/ui/fake-mesh.ts).
 * Without Chromium these skip, except under CI=true (test/ui/browser.ts).
 *
 * Waits are bounded (each selector wait has its timeout); nothing here times anything.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retransmitLimit, suspicionMinTimeoutMs } from '../../src/membership/math.js';
import { PROFILES } from '../../src/membership/options.js';
import { CHROMIUM, launch } from '../ui/browser.js';
import { startFakeMesh } from '../ui/fake-mesh.js';
import { Agents, kill9, REPO, waitUntil, type AgentProcess } from './support.js';

const OUT = join(REPO, 'test-output', 'ui');
const N = 5;
const P = PROFILES.local;
const spread = retransmitLimit(P.retransmitMult, N) * P.gossipIntervalMs;
/** What the page adds: the frame that shows an event, and the stream's delivery. */
const PAGE_MS = 1000;
/**
 * The crashed node is probed within two rounds of the shuffled round-robin over the N-1 others
 * (plus one interval), misses the probe timeout, and the suspicion spreads in its retransmit budget.
 */
const SUSPECT_BOUND_MS = (2 * (N - 1) + 1) * P.probeIntervalMs + P.probeTimeoutMs + spread + PAGE_MS;
/** Then the suspicion runs at most its maximum (no confirmations), one stall deferral, and the death spreads. */
const DEAD_BOUND_MS = P.suspicionMaxTimeoutMult * suspicionMinTimeoutMs(P.suspicionMult, N, P.probeIntervalMs) + P.probeTimeoutMs + spread + PAGE_MS;

async function put(agent: AgentProcess, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`http://${agent.http}${path}`, {
    method: 'PUT',
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`PUT ${path} on ${agent.name}: HTTP ${res.status} ${text}`);
  return JSON.parse(text) as unknown;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(OUT, name), fullPage: true });
}

/** Opens a page that fails the test on any script error. */
async function open(browser: Browser, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(url);
  return { page, errors };
}

describe.skipIf(CHROMIUM === undefined)('the web view in Chromium', () => {
  const agents = new Agents();
  let browser: Browser;
  let nodes: AgentProcess[] = [];

  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    browser = await launch();
    const first = await agents.start('n1');
    nodes = [first, ...(await Promise.all([2, 3, 4, 5].map((i) => agents.start(`n${i}`, { join: [first.gossip] }))))];
    await waitUntil('all five alive everywhere', nodes, (v) => v.size === N && [...v.values()].every((r) => r.status === 'alive'), { timeoutMs: 15_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await agents.killAll();
    agents.dispose();
  });

  it('lists the five agents; shows a kill -9 suspect then dead in the bound; a registration appears; a failing check turns it critical', async () => {
    const n1 = nodes[0] as AgentProcess;
    const { page, errors } = await open(browser, `http://${n1.http}/`);
    expect(new URL(page.url()).pathname).toBe('/ui');
    await page.waitForSelector(`#members-count[data-alive="${N}"]`, { timeout: 10_000 });
    for (const n of nodes) expect(await page.getAttribute(`[data-member="${n.name}"]`, 'data-status')).toBe('alive');
    await page.waitForSelector('#connection[data-state="live"]', { timeout: 5000 });
    await page.waitForSelector('#mesh[data-alive="5"]', { timeout: 5000 });
    await shot(page, '1-five-alive.png');

    const victim = nodes[4] as AgentProcess;
    await kill9(victim);
    await page.waitForSelector(`[data-member="${victim.name}"][data-status="suspect"]`, { timeout: SUSPECT_BOUND_MS });
    await shot(page, '2-suspect.png');
    await page.waitForSelector(`[data-member="${victim.name}"][data-status="dead"]`, { timeout: DEAD_BOUND_MS });
    await page.waitForSelector('#mesh[data-dead="1"]', { timeout: 2000 });
    expect(await page.locator(`.feedlist [data-event="member-suspect"][data-subject="${victim.name}"]`).count()).toBeGreaterThan(0);
    await shot(page, '3-dead.png');

    // A registration on this agent (with a TTL check) and one on another node: both appear.
    await put(n1, '/v1/services', { id: 'web-1', name: 'web', port: 8080, tags: ['v1'], meta: { version: '1.0.0' }, checks: [{ id: 'web-1-ttl', ttl: '60s' }] });
    await put(n1, '/v1/checks/web-1-ttl/pass', { note: 'all good' });
    await put(nodes[2] as AgentProcess, '/v1/services', { id: 'api-3', name: 'api', port: 9090, tags: ['v2'] });
    await page.waitForSelector('[data-instance="web-1"][data-status="passing"]', { timeout: 10_000 });
    await page.waitForSelector('[data-instance="api-3"]', { timeout: 10_000 });
    expect(await page.getAttribute('[data-instance="api-3"]', 'data-service')).toBe('api');
    await shot(page, '4-registered.png');

    // The check fails: the instance turns critical, and its detail shows the check's output.
    await put(n1, '/v1/checks/web-1-ttl/fail', { note: 'disk full' });
    await page.waitForSelector('[data-instance="web-1"][data-status="critical"]', { timeout: 10_000 });
    await page.click('[data-instance="web-1"]');
    await page.waitForSelector('[data-detail-instance="web-1"] [data-check="web-1-ttl"][data-status="critical"]', { timeout: 5000 });
    expect(await page.textContent('[data-detail-instance="web-1"]')).toContain('disk full');
    expect(await page.textContent('[data-detail-instance="web-1"]')).toContain('version');
    await shot(page, '5-critical.png');

    // Another node's instance: its detail shows that node's checks with their output, and a
    // status change there reaches the open detail live.
    const n3 = nodes[2] as AgentProcess;
    await put(n3, '/v1/services', { id: 'api-4', name: 'api', port: 9091, checks: [{ id: 'api-4-ttl', ttl: '60s' }] });
    await put(n3, '/v1/checks/api-4-ttl/pass', { note: 'queue depth 3' });
    await page.waitForSelector('[data-instance="api-4"][data-status="passing"]', { timeout: 10_000 });
    await page.click('[data-instance="api-4"]');
    await page.waitForSelector('[data-detail-instance="api-4"] [data-check="api-4-ttl"][data-status="passing"]', { timeout: 5000 });
    expect(await page.textContent('[data-detail-instance="api-4"]')).toContain('queue depth 3');
    await put(n3, '/v1/checks/api-4-ttl/fail', { note: 'queue stuck' });
    await page.waitForSelector('[data-detail-instance="api-4"] [data-check="api-4-ttl"][data-status="critical"]', { timeout: 10_000 });
    expect(await page.textContent('[data-detail-instance="api-4"]')).toContain('queue stuck');
    await shot(page, '6-remote-checks.png');

    // A node's detail: its status, incarnation and instances.
    await page.click(`[data-member="${victim.name}"]`);
    expect(await page.textContent(`[data-detail-node="${victim.name}"]`)).toContain('dead');
    // The health charts have samples (agent-health events, every 2 s).
    await page.waitForSelector('#health-summary:not([data-samples="0"])', { timeout: 5000 });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('asks a token-protected agent for its token once, and keeps it for the tab', async () => {
    const guarded = await agents.start('t1', { args: ['--http-token', 'open-sesame-0123456789'] });
    const { page, errors } = await open(browser, `http://${guarded.http}/ui`);
    await page.waitForSelector('#token', { timeout: 10_000 });
    await page.fill('#token', 'wrong');
    await page.click('button[type="submit"]');
    await page.waitForSelector('text=The token given was refused', { timeout: 5000 });
    await page.fill('#token', 'open-sesame-0123456789');
    await page.click('button[type="submit"]');
    await page.waitForSelector('#members-count[data-alive="1"]', { timeout: 10_000 });
    await page.reload();
    await page.waitForSelector('#members-count[data-alive="1"]', { timeout: 10_000 });
    expect(await page.locator('#token').count()).toBe(0);
    await shot(page, '6-token.png');
    // The refused tries are the wrong token's; nothing else failed.
    expect(errors.filter((e) => !e.includes('401'))).toEqual([]);
    await page.close();
  });

  it('renders 1,000 members and 10,000 instances (a virtualised list) and applies bursts of events', async () => {
    const { mesh, server, url } = await startFakeMesh({ members: 1000, instances: 10_000, names: 1000 });
    try {
      const { page, errors } = await open(browser, url);
      await page.waitForSelector('#members-count[data-total="1000"][data-alive="1000"]', { timeout: 20_000 });
      await page.waitForSelector('#instances-count[data-total="10000"][data-services="1000"]', { timeout: 20_000 });
      // Only the rows in sight are in the DOM.
      expect(await page.locator('[data-member]').count()).toBeLessThan(60);
      expect(await page.locator('[data-instance]').count()).toBeLessThan(60);
      await page.locator('.vlist[aria-label="members"]').evaluate((el) => el.scrollTo(0, el.scrollHeight));
      await page.waitForSelector('[data-member="node-0999"]', { timeout: 5000 });
      mesh.setMembers(500, 'suspect');
      await page.waitForSelector('#members-count[data-suspect="500"]', { timeout: 10_000 });
      mesh.setNames(100, 'critical');
      const critical = mesh.services().reduce((n, s) => n + mesh.lookup(s.name, { status: 'critical' }).length, 0);
      await page.waitForSelector(`#instances-count[data-critical="${critical}"]`, { timeout: 10_000 });
      await page.fill('input[aria-label="filter by service name"]', 'svc-0001');
      await page.waitForSelector('[data-service="svc-0001"]', { timeout: 5000 });
      expect(await page.locator('[data-instance]:not([data-service="svc-0001"])').count()).toBe(0);
      await shot(page, '7-thousand.png');
      expect(errors).toEqual([]);
      await page.close();
    } finally {
      await server.close();
    }
  });
});
