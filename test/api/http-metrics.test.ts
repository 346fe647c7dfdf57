/**
 * GET /metrics: Prometheus text exposition format 0.0.4.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../../src/api/server.js';
import { renderMetrics } from '../../src/api/prometheus.js';
import { DNS_COUNTER_KEYS, HTTP_COUNTER_KEYS, METRICS } from '../../src/agent/counters.js';
import { createAgent } from '../../src/agent/agent.js';
import { FakeAgent, view } from './fake-agent.js';
import { call } from './http-support.js';

let server: HttpServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

interface Exposition {
  readonly help: Map<string, string>;
  readonly type: Map<string, string>;
  /** `name{labels}` → value, in order. */
  readonly samples: Map<string, number>;
}

/**
 * Parses the text format strictly: every sample's family has HELP and TYPE lines before it, and a
 * family's samples are contiguous.
 */
function parse(text: string): Exposition {
  expect(text.endsWith('\n')).toBe(true);
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  const samples = new Map<string, number>();
  const finished = new Set<string>();
  let current: string | undefined;
  for (const line of text.slice(0, -1).split('\n')) {
    let m: RegExpMatchArray | null;
    if ((m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line)) !== null) {
      expect(help.has(m[1] as string), `duplicate HELP for ${m[1]}`).toBe(false);
      help.set(m[1] as string, m[2] as string);
    } else if ((m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line)) !== null) {
      expect(type.has(m[1] as string), `duplicate TYPE for ${m[1]}`).toBe(false);
      type.set(m[1] as string, m[2] as string);
    } else if ((m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*\})? (-?[0-9.e+]+|NaN|[+-]Inf)$/.exec(line)) !== null) {
      const name = m[1] as string;
      if (name !== current) {
        expect(finished.has(name), `samples of ${name} are not contiguous`).toBe(false);
        if (current !== undefined) finished.add(current);
        current = name;
      }
      expect(help.has(name), `sample ${line} has no HELP before it`).toBe(true);
      expect(type.has(name), `sample ${line} has no TYPE before it`).toBe(true);
      samples.set(`${name}${m[2] ?? ''}`, Number(m[3]));
    } else {
      throw new Error(`not a valid exposition line: ${JSON.stringify(line)}`);
    }
  }
  return { help, type, samples };
}

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
    expect([...m.type.keys()].sort()).toEqual(['hearsay_info', ...METRICS.map((f) => f.name)].sort());
    for (const f of METRICS) {
      expect(m.type.get(f.name)).toBe(f.kind);
      expect(m.help.get(f.name)).toBe(f.help);
    }
    expect([...m.samples]).toEqual([
      ['hearsay_info{name="node-a",profile="lan"}', 1],
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
  });

  it('escapes label values', () => {
    const m = parse(renderMetrics({}, { name: 'we"ird\\name\n' }));
    expect(m.samples.get('hearsay_info{name="we\\"ird\\\\name\\n"}')).toBe(1);
  });
});

describe('the counter catalog', () => {
  it('declares every counter a real agent, its HTTP API and its DNS server keep, and nothing they do not', async () => {
    const agent = createAgent({ bind: { host: '127.0.0.1', port: 0 } });
    await agent.start();
    const kept = [...Object.keys(agent.counters()), ...HTTP_COUNTER_KEYS, ...DNS_COUNTER_KEYS].sort();
    await agent.close();
    const declared = METRICS.flatMap((f) => f.series.map((s) => s.key)).sort();
    expect(declared).toEqual(kept);
    expect(new Set(declared).size).toBe(declared.length);
  });

  it('names families as Prometheus expects, each once, with real help and the labels its series carry', () => {
    expect(new Set(METRICS.map((f) => f.name)).size).toBe(METRICS.length);
    for (const f of METRICS) {
      expect(f.name).toMatch(/^hearsay_[a-z0-9_]+$/);
      if (f.kind === 'counter') expect(f.name, f.name).toMatch(/_total$/);
      else expect(f.name, f.name).not.toMatch(/_total$/);
      expect(f.help, f.name).toMatch(/^[A-Z].{15,}\.$/);
      for (const s of f.series) expect(Object.keys(s.labels).sort(), `${f.name} ${s.key}`).toEqual([...f.labels].sort());
      const labelSets = f.series.map((s) => JSON.stringify(s.labels));
      expect(new Set(labelSets).size, f.name).toBe(labelSets.length);
    }
  });
});
