/**
 * Debian's real Prometheus discovering its targets through GET /v1/prometheus/sd (http_sd_configs)
 * of a two-agent mesh on 127.0.0.1 (Debian builds Prometheus without consul_sd_configs; HTTP
 * discovery is what it has). Each agent registers one instance of `app` pointing at a tiny HTTP
 * server this test runs (one per instance, each serving /metrics); Prometheus is asked through its
 * own API (/api/v1/targets) until it scrapes both, up, with the __meta_hearsay_* labels relabelled
 * onto them; after one instance is deregistered on its agent, Prometheus drops it.
 * Waits are bounded polls. Prometheus is a process this test starts and stops by its PID.
 * Without the prometheus binary the test skips, except in CI (CI=true), which installs it (.ci/deps).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agents, closedPort, lists, sleep, waitUntil, type AgentProcess } from './support.js';

const hasPrometheus = spawnSync('prometheus', ['--version'], { stdio: 'ignore' }).error === undefined;
if (!hasPrometheus && process.env.CI === 'true') throw new Error('CI must have prometheus (Debian package, installed by .ci/deps) for the HTTP service discovery test');

const agents = new Agents();
const servers: Server[] = [];
let prometheus: ChildProcess | undefined;
let promLog = '';
let dir = '';

interface Target {
  labels: Record<string, string>;
  discoveredLabels: Record<string, string>;
  health: string;
  lastError: string;
  scrapeUrl: string;
}

/** A tiny HTTP server on 127.0.0.1 serving /metrics in the text format; resolves with its port. */
async function metricsServer(name: string): Promise<number> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(`# HELP app_up An app.\n# TYPE app_up gauge\napp_up{instance_name="${name}"} 1\n`);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  return (server.address() as AddressInfo).port;
}

async function consulPut(agent: AgentProcess, path: string, body?: unknown): Promise<void> {
  const res = await fetch(`http://${agent.http}${path}`, {
    method: 'PUT',
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(5000),
  });
  expect(res.status, await res.text()).toBe(200);
}

/** Prometheus's active targets of `job`, or undefined while its API does not answer yet. */
async function targets(port: number, job: string): Promise<Target[] | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/targets?state=active`, { signal: AbortSignal.timeout(3000) });
    if (!res.ok) return undefined;
    const body = (await res.json()) as { data: { activeTargets: Target[] } };
    return body.data.activeTargets.filter((t) => t.labels['job'] === job);
  } catch {
    return undefined;
  }
}

/** Polls Prometheus's targets until `done` holds (at most `timeoutMs`); throws with the last answer and Prometheus's log. */
async function untilTargets(port: number, job: string, what: string, done: (t: Target[]) => boolean, timeoutMs = 60_000): Promise<Target[]> {
  const deadline = Date.now() + timeoutMs;
  let last: Target[] | undefined;
  for (;;) {
    last = await targets(port, job);
    if (last !== undefined && done(last)) return last;
    if (prometheus?.exitCode !== null || prometheus.signalCode !== null) throw new Error(`prometheus exited (${String(prometheus?.exitCode ?? prometheus?.signalCode)}):\n${promLog.slice(-3000)}`);
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}; targets: ${JSON.stringify(last)}\nprometheus log:\n${promLog.slice(-3000)}`);
    await sleep(250);
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hearsay-prom-'));
});

afterAll(async () => {
  if (prometheus?.pid !== undefined && prometheus.exitCode === null) {
    const exited = new Promise((r) => prometheus?.once('exit', r));
    prometheus.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    if (prometheus.exitCode === null && prometheus.signalCode === null) prometheus.kill('SIGKILL');
  }
  for (const s of servers) s.close();
  await agents.killAll();
  agents.dispose();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasPrometheus)('Prometheus discovering the mesh: http_sd_configs on /v1/prometheus/sd, and consul_sd_configs', () => {
  it('scrapes the instances of a two-agent mesh it discovered, and drops one once it is deregistered', async () => {
    const a = await agents.start('sd-a');
    const b = await agents.start('sd-b', { join: [a.gossip] });
    await waitUntil('both agents list both alive', [a, b], lists([a.name, b.name], 'alive'), { timeoutMs: 20_000 });
    const portA = await metricsServer('app-a');
    const portB = await metricsServer('app-b');
    await consulPut(a, '/v1/agent/service/register', { Name: 'app', ID: 'app-a', Address: '127.0.0.1', Port: portA, Tags: ['blue'], Meta: { team: 'core' } });
    await consulPut(b, '/v1/agent/service/register', { Name: 'app', ID: 'app-b', Address: '127.0.0.1', Port: portB, Tags: ['green'] });
    // A lists both (B's by gossip) before Prometheus is started, so its first discovery sees them.
    const sdUrl = `http://${a.http}/v1/prometheus/sd?service=app`;
    const deadline = Date.now() + 20_000;
    while (((await (await fetch(sdUrl)).json()) as unknown[]).length < 2) {
      if (Date.now() > deadline) throw new Error('agent A did not list both instances of app');
      await sleep(100);
    }

    const webPort = await closedPort();
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        'scrape_configs:',
        '  - job_name: hearsay',
        '    http_sd_configs:',
        `      - url: ${JSON.stringify(sdUrl)}`,
        '        refresh_interval: 1s',
        '    relabel_configs:',
        '      - source_labels: [__meta_hearsay_node]',
        '        target_label: node',
        '      - source_labels: [__meta_hearsay_service_id]',
        '        target_label: service_id',
        '      - source_labels: [__meta_hearsay_meta_team]',
        '        target_label: team',
        '',
      ].join('\n'),
    );
    prometheus = spawn(
      'prometheus',
      [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${webPort}`, '--log.level=warn'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout?.on('data', (d: Buffer) => (promLog += d.toString()));
    prometheus.stderr?.on('data', (d: Buffer) => (promLog += d.toString()));

    const up = await untilTargets(webPort, 'hearsay', 'both instances are scraped and up', (t) => t.length === 2 && t.every((x) => x.health === 'up'));
    const byId = new Map(up.map((t) => [t.labels['service_id'], t]));
    expect([...byId.keys()].sort()).toEqual(['app-a', 'app-b']);
    expect(byId.get('app-a')?.labels).toMatchObject({ instance: `127.0.0.1:${portA}`, node: 'sd-a', team: 'core' });
    expect(byId.get('app-b')?.labels).toMatchObject({ instance: `127.0.0.1:${portB}`, node: 'sd-b' });
    expect(byId.get('app-a')?.scrapeUrl).toBe(`http://127.0.0.1:${portA}/metrics`);
    expect(byId.get('app-b')?.discoveredLabels).toMatchObject({ __meta_hearsay_service: 'app', __meta_hearsay_tags: ',green,', __meta_hearsay_status: 'passing' });

    // Deregistered on its own agent, B's instance leaves A's view by gossip, and so Prometheus's targets.
    await consulPut(b, '/v1/agent/service/deregister/app-b');
    const after = await untilTargets(webPort, 'hearsay', 'app-b is gone from the targets', (t) => t.length === 1);
    expect(after.map((t) => [t.labels['service_id'], t.health])).toEqual([['app-a', 'up']]);
  });
});
