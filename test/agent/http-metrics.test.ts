/**
 * GET /metrics: Prometheus text exposition format 0.0.4.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../../src/agent/http.js';
import { metricForKey, renderMetrics } from '../../src/agent/metrics.js';
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
  it('serves the text format with HELP and TYPE for every family, names prefixed hearsay_', async () => {
    const agent = new FakeAgent('node-a', [
      view('node-a', 'alive', { incarnation: 3 }),
      view('node-b', 'alive'),
      view('node-c', 'suspect'),
      view('node-d', 'dead'),
    ]);
    agent.counterValues = {
      packetsIn: 10,
      'dropped.bad-version': 2,
      'dropped.malformed': 1,
      'transport.datagram.packetsOut': 7,
      'transport.stream.packetsOut': 3,
      'transport.dropped.read-timeout': 4,
      'transport.stream.connectionsOpen': 1,
      'agent.joinAttempts': 5,
      'members.active': 3,
      'members.total': 4,
      healthScore: 2,
    };
    server = createHttpServer(agent, { profile: 'lan' });
    const res = await call(await server.listen({ host: '127.0.0.1', port: 0 }), '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const m = parse(res.text);
    for (const name of m.type.keys()) expect(name).toMatch(/^hearsay_[a-z0-9_]+$/);
    expect([...m.samples]).toEqual([
      ['hearsay_info{name="node-a",profile="lan"}', 1],
      ['hearsay_members{status="alive"}', 2],
      ['hearsay_members{status="suspect"}', 1],
      ['hearsay_members{status="dead"}', 1],
      ['hearsay_members{status="left"}', 0],
      ['hearsay_local_incarnation', 3],
      ['hearsay_agent_join_attempts_total', 5],
      ['hearsay_dropped_total{reason="bad-version"}', 2],
      ['hearsay_dropped_total{reason="malformed"}', 1],
      ['hearsay_health_score', 2],
      ['hearsay_http_body_too_large_total', 0],
      ['hearsay_http_invalid_requests_total', 0],
      ['hearsay_http_rate_limited_total', 0],
      ['hearsay_http_requests_total', 1],
      ['hearsay_http_unauthorized_total', 0],
      ['hearsay_members_active', 3],
      ['hearsay_member_table_entries', 4],
      ['hearsay_packets_in_total', 10],
      ['hearsay_transport_packets_out_total{channel="datagram"}', 7],
      ['hearsay_transport_packets_out_total{channel="stream"}', 3],
      ['hearsay_transport_dropped_total{reason="read-timeout"}', 4],
      ['hearsay_transport_connections_open', 1],
    ]);
    expect(m.type.get('hearsay_packets_in_total')).toBe('counter');
    expect(m.type.get('hearsay_health_score')).toBe('gauge');
    expect(m.type.get('hearsay_members')).toBe('gauge');
    expect(m.help.get('hearsay_dropped_total')).toBe('Packets or messages the membership protocol dropped, by reason.');
  });

  it('names counters as snake case with _total, labels for reasons and channels, and gauges for levels', () => {
    const table: [string, string, string, Record<string, string>][] = [
      ['packetsIn', 'hearsay_packets_in_total', 'counter', {}],
      ['pushPullsSent', 'hearsay_push_pulls_sent_total', 'counter', {}],
      ['dropped.too-many-members', 'hearsay_dropped_total', 'counter', { reason: 'too-many-members' }],
      ['transport.stream.bytesIn', 'hearsay_transport_bytes_in_total', 'counter', { channel: 'stream' }],
      ['transport.dropped.frame-too-large', 'hearsay_transport_dropped_total', 'counter', { reason: 'frame-too-large' }],
      ['agent.eventsDropped', 'hearsay_agent_events_dropped_total', 'counter', {}],
      ['healthScore', 'hearsay_health_score', 'gauge', {}],
      ['queueDepthGauge', 'hearsay_queue_depth', 'gauge', {}],
      ['bytesTotal', 'hearsay_bytes_total', 'counter', {}],
    ];
    for (const [key, name, type, labels] of table) {
      expect(metricForKey(key), key).toMatchObject({ name, type, labels });
    }
  });

  it('escapes label values and exposes a health score the agent offers as a method', () => {
    const agent = new FakeAgent('we"ird\\name\n');
    agent.counterValues = {};
    Object.assign(agent, { healthScore: () => 5 });
    const m = parse(renderMetrics(agent));
    expect(m.samples.get('hearsay_info{name="we\\"ird\\\\name\\n"}')).toBe(1);
    expect(m.samples.get('hearsay_health_score')).toBe(5);
  });
});
