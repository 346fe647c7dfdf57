/**
 * GET /metrics: Prometheus text exposition format 0.0.4, and the metrics catalog behind it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../../src/api/server.js';
import { renderMetrics } from '../../src/api/prometheus.js';
import { serviceInstanceSamples } from '../../src/api/routes/agent.js';
import { RuntimeMetrics } from '../../src/api/runtime-metrics.js';
import { DNS_COUNTER_KEYS, HTTP_COUNTER_KEYS, METRICS, metricFamily, metricsTable, type MetricFamily } from '../../src/agent/counters.js';
import { createAgent } from '../../src/agent/agent.js';
import { DnsMetrics } from '../../src/dns/metrics.js';
import type { ServiceInstance } from '../../src/registry/types.js';
import { Histogram } from '../../src/util/histogram.js';
import { VERSION } from '../../src/version.js';
import { FakeAgent, view } from './fake-agent.js';
import { parse } from './exposition.js';
import { call } from './http-support.js';

let server: HttpServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('GET /metrics', () => {
  it('serves every family of the catalog with its HELP and TYPE, one sample per series the agent counts', async () => {
    const agent = new FakeAgent('node-a', [view('node-a', 'alive', { incarnation: 3 }), view('node-b', 'alive')]);
    agent.counterValues = {
      packetsIn: 10,
      'dropped.bad-version': 2,
      'transport.datagram.packetsOut': 7,
      'transport.stream.packetsOut': 3,
      'transport.stream.connectionsOpen': 1,
      'agent.joinAttempts': 5,
      'members.alive': 2,
      incarnation: 3,
      healthScore: 2,
    };
    server = createHttpServer(agent, { profile: 'lan' });
    const res = await call(await server.listen({ host: '127.0.0.1', port: 0 }), '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const m = parse(res.text);
    expect([...m.type.keys()]).toEqual(METRICS.map((f) => f.name));
    for (const f of METRICS) {
      expect(m.type.get(f.name)).toBe(f.kind);
      expect(m.help.get(f.name)).toBe(f.help);
    }
    // The agent's own series (the runtime's are checked in runtime-metrics.test.ts).
    expect([...m.samples].filter(([k]) => k.startsWith('hearsay_'))).toEqual([
      [`hearsay_info{name="node-a",profile="lan",version="${VERSION}"}`, 1],
      ['hearsay_members{status="alive"}', 2],
      ['hearsay_local_incarnation', 3],
      ['hearsay_health_score', 2],
      ['hearsay_packets_in_total', 10],
      ['hearsay_dropped_total{reason="bad-version"}', 2],
      ['hearsay_transport_packets_out_total{channel="datagram"}', 7],
      ['hearsay_transport_packets_out_total{channel="stream"}', 3],
      ['hearsay_transport_connections_open', 1],
      ['hearsay_agent_join_attempts_total', 5],
      // The API's own counters: this request is the first.
      ['hearsay_http_requests_total', 1],
      ['hearsay_http_unauthorized_total', 0],
      ['hearsay_http_rate_limited_total', 0],
      ['hearsay_http_body_too_large_total', 0],
      ['hearsay_http_invalid_requests_total', 0],
      ['hearsay_http_connections_refused_total', 0],
      ['hearsay_http_header_timeouts_total', 0],
    ]);
    expect(m.samples.get('process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('times requests by method, route template (never the raw path) and status code', async () => {
    const agent = new FakeAgent('node-a', [view('node-a')]);
    server = createHttpServer(agent);
    const addr = await server.listen({ host: '127.0.0.1', port: 0 });
    expect((await call(addr, '/v1/members')).status).toBe(200);
    expect((await call(addr, '/v1/members')).status).toBe(200);
    expect((await call(addr, '/v1/services/secret-name-1')).status).toBe(200);
    expect((await call(addr, '/v1/services/secret-name-2')).status).toBe(200);
    expect((await call(addr, '/v1/no/such/thing')).status).toBe(404);
    expect((await call(addr, '/v1/members', { method: 'DELETE' })).status).toBe(405);
    expect((await call(addr, '/v1/members', { headers: { origin: 'http://evil.example' } })).status).toBe(403);
    const m = parse((await call(addr, '/metrics')).text);
    const count = (labels: string): number | undefined => m.samples.get(`hearsay_http_request_duration_seconds_count{${labels}}`);
    expect(count('method="GET",route="/v1/members",code="200"')).toBe(2);
    expect(count('method="GET",route="/v1/services/:name",code="200"')).toBe(2);
    expect(count('method="GET",route="unmatched",code="404"')).toBe(1);
    expect(count('method="DELETE",route="/v1/members",code="405"')).toBe(1);
    // Refused by the guard before routing: still labelled by the route it asked for.
    expect(count('method="GET",route="/v1/members",code="403"')).toBe(1);
    expect([...m.samples.keys()].some((k) => k.includes('secret-name'))).toBe(false);
    const buckets = [...m.samples].filter(([k]) => k.startsWith('hearsay_http_request_duration_seconds_bucket{method="GET",route="/v1/members",code="200"'));
    expect(buckets.map(([k]) => /le="([^"]+)"/.exec(k)?.[1])).toEqual([...(metricFamily('hearsay_http_request_duration_seconds').buckets ?? []).map(String), '+Inf']);
    expect(buckets.at(-1)?.[1]).toBe(2);
  });

  it('shows the DNS server metrics it is given, and instances per service by status', async () => {
    const agent = new FakeAgent('node-a', [view('node-a')]);
    agent.register({ name: 'web', port: 80 });
    agent.register({ name: 'web', port: 81 });
    const dns = new DnsMetrics();
    dns.onQuery('SRV', 'answered', 'udp', 0.0002);
    dns.onQuery('SRV', 'answered', 'tcp', 0.0003);
    dns.onQuery('A', 'nxdomain', 'udp', 0.0001);
    server = createHttpServer(agent, { dnsMetrics: dns });
    const m = parse((await call(await server.listen({ host: '127.0.0.1', port: 0 }), '/metrics')).text);
    expect(m.samples.get('hearsay_dns_queries_total{type="SRV",outcome="answered"}')).toBe(2);
    expect(m.samples.get('hearsay_dns_queries_total{type="A",outcome="nxdomain"}')).toBe(1);
    expect(m.samples.get('hearsay_dns_request_duration_seconds_count{protocol="udp"}')).toBe(2);
    expect(m.samples.get('hearsay_dns_request_duration_seconds_bucket{protocol="udp",le="0.0001"}')).toBe(1);
    expect(m.samples.get('hearsay_dns_request_duration_seconds_count{protocol="tcp"}')).toBe(1);
    expect(m.samples.get('hearsay_service_instances{service="web",status="passing"}')).toBe(2);
    expect(m.samples.get('hearsay_service_instances{service="web",status="critical"}')).toBe(0);
  });

  it('shows the probe round-trip histograms the agent keeps', async () => {
    const agent = new FakeAgent('node-a', [view('node-a')]);
    const h = new Histogram(metricFamily('hearsay_probe_rtt_seconds').buckets ?? []);
    h.observe(0.0004);
    agent.histogramValues = { 'probeRtt.direct': h.snapshot() };
    server = createHttpServer(agent);
    const m = parse((await call(await server.listen({ host: '127.0.0.1', port: 0 }), '/metrics')).text);
    expect(m.samples.get('hearsay_probe_rtt_seconds_bucket{path="direct",le="0.00025"}')).toBe(0);
    expect(m.samples.get('hearsay_probe_rtt_seconds_bucket{path="direct",le="0.0005"}')).toBe(1);
    expect(m.samples.get('hearsay_probe_rtt_seconds_sum{path="direct"}')).toBe(0.0004);
    expect(m.samples.has('hearsay_probe_rtt_seconds_count{path="indirect"}')).toBe(false);
  });
});

describe('renderMetrics', () => {
  const family = (over: Partial<MetricFamily>): MetricFamily => ({ name: 'x', kind: 'gauge', help: 'Help.', labels: [], series: [], ...over });

  it('writes a histogram as cumulative buckets, +Inf, _sum and _count', () => {
    const h = new Histogram([0.1, 1]);
    for (const v of [0.05, 0.1, 0.5, 7]) h.observe(v);
    const f = family({ name: 'demo_seconds', kind: 'histogram', help: 'A demo.', labels: ['path'], series: [{ key: 'd', labels: { path: 'a' } }] });
    expect(renderMetrics({ values: {}, histograms: { d: h.snapshot() } }, [f])).toBe(
      [
        '# HELP demo_seconds A demo.',
        '# TYPE demo_seconds histogram',
        'demo_seconds_bucket{path="a",le="0.1"} 2',
        'demo_seconds_bucket{path="a",le="1"} 3',
        'demo_seconds_bucket{path="a",le="+Inf"} 4',
        'demo_seconds_sum{path="a"} 7.65',
        'demo_seconds_count{path="a"} 4',
        '',
      ].join('\n'),
    );
  });

  it('writes the known series first, then those made at scrape, and escapes label values and help', () => {
    const f = family({ name: 'demo', help: 'Back\\slash\nnewline.', labels: ['k'], series: [{ key: 'one', labels: { k: 'known' } }] });
    const text = renderMetrics({ values: { one: 1 }, samples: { demo: [{ labels: { k: 'we"ird\\name\n' }, value: NaN }] } }, [f]);
    expect(text).toBe(['# HELP demo Back\\\\slash\\nnewline.', '# TYPE demo gauge', 'demo{k="known"} 1', 'demo{k="we\\"ird\\\\name\\n"} NaN', ''].join('\n'));
  });
});

describe('serviceInstanceSamples', () => {
  it('counts every service name by status, zeros included', () => {
    const inst = (name: string, status: ServiceInstance['status']): ServiceInstance => ({ id: `${name}-${status}`, name, node: 'n', address: '10.0.0.1', port: 1, tags: [], meta: {}, status });
    const all = [inst('a', 'passing'), inst('a', 'passing'), inst('a', 'critical'), inst('b', 'maintenance')];
    const samples = serviceInstanceSamples({
      services: () => [
        { name: 'a', instances: 3, passing: 2 },
        { name: 'b', instances: 1, passing: 0 },
      ],
      lookup: (name) => all.filter((i) => i.name === name),
    });
    expect(samples.map((s) => [s.labels.service, s.labels.status, s.value])).toEqual([
      ['a', 'passing', 2],
      ['a', 'warning', 0],
      ['a', 'critical', 1],
      ['a', 'maintenance', 0],
      ['b', 'passing', 0],
      ['b', 'warning', 0],
      ['b', 'critical', 0],
      ['b', 'maintenance', 1],
    ]);
  });
});

describe('the metrics catalog', () => {
  /** Families whose known series are agent.counters() keys. */
  const counted = METRICS.filter((f) => f.source === undefined);

  it('declares every counter a real agent keeps, and nothing it does not', async () => {
    const agent = createAgent({ bind: { host: '127.0.0.1', port: 0 } });
    await agent.start();
    const kept = [...Object.keys(agent.counters()), ...HTTP_COUNTER_KEYS, ...DNS_COUNTER_KEYS].sort();
    const histograms = Object.keys(agent.histograms()).sort();
    await agent.close();
    const declared = counted.flatMap((f) => f.series.map((s) => s.key)).sort();
    expect(declared).toEqual(kept);
    expect(new Set(declared).size).toBe(declared.length);
    expect(histograms).toEqual(metricFamily('hearsay_probe_rtt_seconds').series.map((s) => s.key).sort());
  });

  it('declares every DNS and runtime series that is filled at scrape, under its key', async () => {
    expect(Object.keys(new DnsMetrics().histograms()).sort()).toEqual(metricFamily('hearsay_dns_request_duration_seconds').series.map((s) => s.key).sort());
    const runtime = new RuntimeMetrics();
    const snap = await runtime.collect();
    runtime.stop();
    const runtimeFamilies = METRICS.filter((f) => /^(process|nodejs)_/.test(f.name));
    const keysOf = (kind: 'histogram' | 'other'): string[] =>
      runtimeFamilies
        .filter((f) => (f.kind === 'histogram') === (kind === 'histogram'))
        .flatMap((f) => f.series.map((s) => s.key))
        .sort();
    // This runs on Linux (/proc): every runtime series has a value.
    expect(Object.keys(snap.values).sort()).toEqual(keysOf('other'));
    expect(Object.keys(snap.histograms).sort()).toEqual(keysOf('histogram'));
    expect(Object.keys(snap.samples).sort()).toEqual(runtimeFamilies.filter((f) => f.series.length === 0).map((f) => f.name).sort());
  });

  it('names families as Prometheus expects, each once, with real help and the labels its series carry', () => {
    expect(new Set(METRICS.map((f) => f.name)).size).toBe(METRICS.length);
    for (const f of METRICS) {
      expect(f.name).toMatch(/^(hearsay|process|nodejs)_[a-z0-9_]+$/);
      if (f.kind === 'counter') expect(f.name, f.name).toMatch(/_total$/);
      // prom-client's two gauges named *_total are untyped here: promtool rejects a gauge so named.
      else if (f.kind === 'untyped') expect(['nodejs_active_handles_total', 'nodejs_active_requests_total']).toContain(f.name);
      else expect(f.name, f.name).not.toMatch(/_total$/);
      if (f.kind === 'histogram') {
        expect(f.name, f.name).not.toMatch(/_(bucket|sum|count)$/);
        expect(f.buckets?.length, f.name).toBeGreaterThan(0);
        expect(f.labels, f.name).not.toContain('le');
      } else expect(f.buckets, f.name).toBeUndefined();
      expect(f.help, f.name).toMatch(/^[A-Z].{15,}\.$/);
      for (const s of f.series) expect(Object.keys(s.labels).sort(), `${f.name} ${s.key}`).toEqual([...f.labels].sort());
      const labelSets = f.series.map((s) => JSON.stringify(s.labels));
      expect(new Set(labelSets).size, f.name).toBe(labelSets.length);
      for (const l of Object.keys(f.labelValues ?? {})) expect(f.labels, f.name).toContain(l);
    }
  });

  it('lists every family in the README table, with its buckets and where it comes from', () => {
    const table = metricsTable();
    for (const f of METRICS) expect(table).toContain(`| \`${f.name}\` | ${f.kind} |`);
    expect(table).toContain('`{type=A\\|AAAA\\|SRV\\|ANY\\|SOA\\|other, outcome=answered\\|');
    expect(table).toContain('Buckets: 0.0001, 0.00025,');
  });
});
