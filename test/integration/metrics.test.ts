/**
 * /metrics as Prometheus reads it: a real `hearsay agent` process on 127.0.0.1, joined to a second
 * so that it probes, asked over HTTP and DNS (UDP and TCP) so that every histogram has data, then
 * scraped and handed to `promtool check metrics` (Debian's prometheus package), which parses the
 * exposition and lints it (names, units, HELP, histogram shape). Without promtool the test skips,
 * except in CI (CI=true), which installs it (.ci/deps).
 */
import { spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import * as dnsPacket from 'dns-packet';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parse } from '../api/exposition.js';
import { Agents } from './support.js';
import { udpExchange } from '../dns/support.js';

const agents = new Agents();
afterEach(() => agents.killAll());
afterAll(() => agents.dispose());

const hasPromtool = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).error === undefined;
if (!hasPromtool && process.env.CI === 'true') throw new Error('CI must have promtool (Debian package prometheus, installed by .ci/deps) for the /metrics test');

/** promtool check metrics on `text`: its exit code and everything it printed. */
function promtool(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(text);
  });
}

async function scrape(http: string): Promise<string> {
  const res = await fetch(`http://${http}/metrics`, { signal: AbortSignal.timeout(5000) });
  expect(res.status).toBe(200);
  return res.text();
}

/** `type` as a string: dns-packet's types leave out ANY, which it encodes. */
const dnsQuery = (name: string, type: string): Buffer => dnsPacket.encode({ type: 'query', id: 9, questions: [{ type: type as dnsPacket.RecordType, name }] });

async function udpQuery(dns: string, q: Buffer): Promise<void> {
  await udpExchange({ host: dns.slice(0, dns.lastIndexOf(':')), port: Number(dns.slice(dns.lastIndexOf(':') + 1)) }, q);
}

function tcpQuery(dns: string, q: Buffer): Promise<void> {
  const [host, port] = [dns.slice(0, dns.lastIndexOf(':')), Number(dns.slice(dns.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const sock = connect(port, host, () => {
      const framed = Buffer.alloc(2 + q.length);
      framed.writeUInt16BE(q.length, 0);
      q.copy(framed, 2);
      sock.write(framed);
    });
    sock.setTimeout(3000, () => sock.destroy(new Error('no DNS answer over TCP')));
    sock.once('data', () => {
      sock.destroy();
      resolve();
    });
    sock.on('error', reject);
  });
}

describe('GET /metrics and promtool', () => {
  it.skipIf(!hasPromtool)('promtool rejects a broken exposition (so a pass below means something)', async () => {
    const bad = await promtool('# HELP requests Requests.\n# TYPE requests counter\nrequests 1\n');
    expect(bad.code).not.toBe(0);
    expect(bad.output).toContain('counter metrics should have "_total" suffix');
  });

  it.skipIf(!hasPromtool)("passes promtool check metrics on a real agent's output, every histogram with data", async () => {
    const a = await agents.start('metrics-a');
    await agents.start('metrics-b', { join: [a.gossip] });
    const put = await fetch(`http://${a.http}/v1/services`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'web', port: 8080 }) });
    expect(put.status).toBe(200);
    await fetch(`http://${a.http}/v1/services/web`).then((r) => r.text());
    expect((await fetch(`http://${a.http}/v1/no-such-route`)).status).toBe(404);
    for (const [name, type] of [
      ['web.service.hearsay', 'A'],
      ['web.service.hearsay', 'SRV'],
      ['nothing.service.hearsay', 'A'],
      ['example.com', 'AAAA'],
    ] as const) {
      await udpQuery(a.dns, dnsQuery(name, type));
    }
    await tcpQuery(a.dns, dnsQuery('web.service.hearsay', 'ANY'));

    // Scrape until a probe of metrics-b has been answered (bounded); the first scrape starts the
    // event-loop monitor, so a later one has its summaries.
    // The scrape checked is the one that met the wait: the event-loop summaries are reset at every
    // scrape, so another one right after it may find no sample yet (10 ms resolution) and say NaN.
    let text = await scrape(a.http);
    let m = parse(text);
    for (let i = 0; i < 100 && !((m.samples.get('hearsay_probe_rtt_seconds_count{path="direct"}') ?? 0) > 0 && Number.isFinite(m.samples.get('nodejs_eventloop_lag_p99_seconds'))); i++) {
      await new Promise((r) => setTimeout(r, 100));
      text = await scrape(a.http);
      m = parse(text);
    }
    expect(m.samples.get('hearsay_probe_rtt_seconds_count{path="direct"}')).toBeGreaterThan(0);
    expect(m.samples.get('hearsay_http_request_duration_seconds_count{method="PUT",route="/v1/services",code="200"}')).toBe(1);
    expect(m.samples.get('hearsay_http_request_duration_seconds_count{method="GET",route="/v1/services/:name",code="200"}')).toBe(1);
    expect(m.samples.get('hearsay_http_request_duration_seconds_count{method="GET",route="unmatched",code="404"}')).toBe(1);
    expect(m.samples.get('hearsay_dns_request_duration_seconds_count{protocol="udp"}')).toBe(4);
    expect(m.samples.get('hearsay_dns_request_duration_seconds_count{protocol="tcp"}')).toBe(1);
    expect(m.samples.get('hearsay_dns_queries_total{type="SRV",outcome="answered"}')).toBe(1);
    expect(m.samples.get('hearsay_dns_queries_total{type="A",outcome="nxdomain"}')).toBe(1);
    expect(m.samples.get('hearsay_dns_queries_total{type="AAAA",outcome="refused"}')).toBe(1);
    expect(m.samples.get('hearsay_service_instances{service="web",status="passing"}')).toBe(1);
    expect([...m.samples.keys()].some((k) => /^hearsay_info\{name="metrics-a",profile="local",version="\d+\.\d+\.\d+[^"]*"\}$/.test(k))).toBe(true);
    expect(m.samples.get('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(m.samples.get('nodejs_eventloop_lag_p99_seconds')).toBeGreaterThan(0);

    const checked = await promtool(text);
    expect(checked.output).toBe('');
    expect(checked.code).toBe(0);
  });
});
