/**
 * The DNS interface's edges (issue 11, points 6 and 7): TCP slots cannot be starved, a silent or
 * dribbling connection is cut at the header timeout, a client that pipelines queries without
 * reading its answers cannot grow the server's memory, and no UDP answer is more than
 * maxUdpAmplification times its query (an ANY query gets one HINFO record, RFC 8482).
 * Sources are told apart by their loopback address (127.0.0.5, 127.0.0.6, ...): Linux routes all of
 * 127/8 to lo.
 */
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as dnsPacket from 'dns-packet';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgent } from '../../src/agent/agent.js';
import { defaultAgentFlags, runAgent } from '../../src/cli/commands/agent.js';
import { capture } from '../cli/support.js';
import { createDnsServer, DNS_COUNTERS, type DnsCounter, type DnsServer, type DnsServerOptions } from '../../src/dns/server.js';
import { DNS_COUNTER_KEYS, dnsCounterValues, METRICS } from '../../src/agent/counters.js';
import { resolveAgentConfig } from '../../src/agent/config.js';
import { dnsLimitOptions } from '../../src/cli/commands/security-flags.js';
import { createHttpServer } from '../../src/api/server.js';
import { feedRemote } from '../registry/support.js';
import type { LocalInstanceRecord } from '../../src/registry/types.js';
import type { Address } from '../../src/wire/messages.js';
import { FakeAgent, view } from '../api/fake-agent.js';
import { call } from '../api/http-support.js';
import { waitFor } from '../agent/support.js';
import { udpExchange } from '../dns/support.js';

let agent: FakeAgent;
let server: DnsServer | undefined;
const sockets: Socket[] = [];

beforeEach(() => {
  agent = new FakeAgent('node-a');
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await server?.close();
  server = undefined;
  await agent.close();
});

async function serve(options: DnsServerOptions = {}): Promise<Address> {
  server = createDnsServer(agent, options);
  return server.listen({ host: '127.0.0.1', port: 0 });
}

const counters = (): Readonly<Record<DnsCounter, number>> => server!.counters;

/** `n` instances of "billing" on node n1 (10.0.x.y). */
function register(n: number): void {
  const records: LocalInstanceRecord[] = Array.from({ length: n }, (_, i) => ({
    id: `n1-${i}`,
    name: 'billing',
    address: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`,
    port: 8000 + i,
    tags: [],
    meta: {},
    status: 'passing' as const,
  }));
  const v = view('n1', 'alive', { host: '10.0.0.1' });
  agent.views.push(v);
  feedRemote(agent.runtime, { type: 'member-join', member: v }, records);
}

const ANY = 'ANY' as dnsPacket.RecordType; // dns-packet's types leave it out

const query = (name: string, type: dnsPacket.RecordType, id = 7, udpPayloadSize?: number): Buffer =>
  dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name }],
    ...(udpPayloadSize === undefined ? {} : { additionals: [{ type: 'OPT', name: '.', udpPayloadSize } as unknown as dnsPacket.Answer] }),
  });

const framed = (q: Buffer): Buffer => {
  const out = Buffer.alloc(2 + q.length);
  out.writeUInt16BE(q.length, 0);
  q.copy(out, 2);
  return out;
};

/** A connection from `source`, tracked for cleanup; resolves once connected. */
function open(addr: Address, source = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: addr.host, port: addr.port, localAddress: source });
    sockets.push(s);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** One query over a connection, answered within 2 s or rejected (the server closed it, or never answered). */
function ask(s: Socket, q: Buffer): Promise<dnsPacket.DecodedPacket> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => done(new Error('no answer within 2 s')), 2000);
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(undefined, dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))));
    };
    const onClose = (): void => done(new Error('the server closed the connection'));
    const done = (err?: Error, answer?: dnsPacket.DecodedPacket): void => {
      clearTimeout(timer);
      s.off('data', onData);
      s.off('close', onClose);
      if (err === undefined) resolve(answer!);
      else reject(err);
    };
    s.on('data', onData);
    s.once('close', onClose);
    s.write(framed(q));
  });
}

/** `n` slow connections from `source`: each sends one byte of a length prefix and nothing more. */
async function holdSlow(addr: Address, source: string, n: number): Promise<Socket[]> {
  const out: Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = await open(addr, source);
    s.on('error', () => undefined);
    s.write(Buffer.from([0]));
    out.push(s);
  }
  return out;
}

const closed = (s: Socket): Promise<void> => new Promise((r) => (s.destroyed ? r() : s.once('close', () => r())));

describe('DNS TCP slots', () => {
  it('a new client is served while one source holds 160 slow connections; that source keeps at most maxTcpPerSource, the rest closed and counted', async () => {
    register(3);
    // No timeout helps here: only the per-source cap does.
    const addr = await serve({ tcpHeaderTimeoutMs: 60_000, tcpIdleTimeoutMs: 60_000 });
    await holdSlow(addr, '127.0.0.5', 160);
    await waitFor('the per-source cap closed the oldest', () => counters()['tcpClosed.source-limit'] === 160 - 8, 10_000);
    expect(counters().tcpConnectionsOpen).toBe(8);
    // Another client from the very same address, and one from elsewhere, are answered.
    const same = await ask(await open(addr, '127.0.0.5'), query('billing.service.hearsay', 'A'));
    expect(same.answers).toHaveLength(3);
    const other = await ask(await open(addr, '127.0.0.1'), query('billing.service.hearsay', 'SRV'));
    expect(other.answers).toHaveLength(3);
    expect(counters().tcpConnectionsOpen).toBe(9);
  });

  it('with every slot taken, a new client is served and the stalest connection of the address holding the most is closed, not a lone client', async () => {
    register(1);
    const addr = await serve({ tcpHeaderTimeoutMs: 60_000, tcpIdleTimeoutMs: 60_000 });
    // A well-behaved client that connected first (the stalest connection of all) and holds one.
    const lone = await open(addr, '127.0.0.40');
    expect((await ask(lone, query('billing.service.hearsay', 'A'))).answers).toHaveLength(1);
    // 16 misbehaving sources fill the other 127 slots (8 each, the last 7).
    for (let i = 0; i < 16; i++) await holdSlow(addr, `127.0.0.${10 + i}`, i === 15 ? 7 : 8);
    await waitFor('every slot taken', () => counters().tcpConnectionsOpen === 128, 10_000);
    for (let i = 0; i < 3; i++) {
      const fresh = await open(addr, '127.0.0.1');
      expect((await ask(fresh, query('billing.service.hearsay', 'A'))).answers).toHaveLength(1);
    }
    expect(counters()['tcpClosed.connection-limit']).toBe(3);
    expect(counters().tcpConnectionsOpen).toBe(128);
    // The lone client kept its connection.
    expect(lone.destroyed).toBe(false);
    expect((await ask(lone, query('billing.service.hearsay', 'A'))).answers).toHaveLength(1);
  });

  it('cuts a connection that sends no complete query within the header timeout, silent or dribbling; one that asked stays', async () => {
    register(1);
    const addr = await serve({ tcpHeaderTimeoutMs: 500, tcpIdleTimeoutMs: 60_000 });
    const silent = await open(addr, '127.0.0.11');
    const dribbling = await open(addr, '127.0.0.12');
    // One byte of a query every 40 ms: never idle, and not finished within 1.5 s.
    const q = framed(query('billing.service.hearsay', 'A'));
    let sent = 0;
    const drip = setInterval(() => (dribbling.destroyed || sent >= q.length - 1 ? clearInterval(drip) : dribbling.write(q.subarray(sent, ++sent))), 40);
    const asker = await open(addr, '127.0.0.13');
    expect((await ask(asker, query('billing.service.hearsay', 'A'))).answers).toHaveLength(1);
    await Promise.all([closed(silent), closed(dribbling)]);
    clearInterval(drip);
    expect(counters()['tcpClosed.header-timeout']).toBe(2);
    // The asker's timer was disarmed by its complete query: well past its own deadline, it still asks.
    await new Promise((r) => setTimeout(r, 600));
    expect((await ask(asker, query('billing.service.hearsay', 'A'))).answers).toHaveLength(1);
    expect(counters()['tcpClosed.header-timeout']).toBe(2);
  });
});

describe('DNS TCP backpressure', () => {
  it('a client that pipelines 10,000 queries without reading is no longer read from: the server holds a bounded backlog, not every answer', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    register(100); // an SRV answer of ~10 KB over TCP: 10,000 of them would be ~100 MB
    const addr = await serve({ tcpIdleTimeoutMs: 60_000 });
    gc();
    const before = process.memoryUsage();
    const s = await open(addr, '127.0.0.20');
    s.pause(); // never reads
    const q = framed(query('billing.service.hearsay', 'SRV'));
    const total = 10_000;
    s.write(Buffer.concat(Array.from({ length: total }, () => q)));
    // Until the server has stopped answering (the count stands still for half a second).
    let last = -1;
    let still = 0;
    for (let i = 0; i < 200 && still < 5; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const n = counters().tcpQueries;
      still = n === last ? still + 1 : 0;
      last = n;
    }
    gc();
    const after = process.memoryUsage();
    const grown = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
    expect(grown).toBeLessThan(30 * 1024 * 1024);
    expect(counters().tcpPaused).toBeGreaterThanOrEqual(1);
    // It stopped reading: most queries are still unread (in the kernel's buffers or the client's).
    expect(counters().tcpQueries).toBeLessThan(total / 2);
    expect(s.destroyed).toBe(false);
  });

  it('closes a client that never reads its answers at the idle timeout, and counts it', async () => {
    register(100);
    const addr = await serve({ tcpIdleTimeoutMs: 300 });
    const s = await open(addr, '127.0.0.21');
    s.pause();
    s.on('error', () => undefined);
    const q = framed(query('billing.service.hearsay', 'SRV'));
    s.write(Buffer.concat(Array.from({ length: 5000 }, () => q)));
    await waitFor('the server closed it at the idle timeout', () => counters()['tcpClosed.idle-timeout'] === 1, 5000);
    expect(counters().tcpPaused).toBeGreaterThanOrEqual(1);
    expect(counters().tcpConnectionsOpen).toBe(0);
    // Reading at last, the client finds the answers that were sent, then the end.
    s.resume();
    await closed(s);
  });

  it('a client that reads slowly still gets every answer, in order', async () => {
    register(100);
    const addr = await serve({ tcpMaxQueuedAnswers: 2, tcpMaxQueuedBytes: 1024 });
    const s = await open(addr, '127.0.0.22');
    const n = 300;
    s.write(Buffer.concat(Array.from({ length: n }, (_, i) => framed(query('billing.service.hearsay', 'SRV', i)))));
    const ids: number[] = [];
    let buf = Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => {
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          ids.push(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))).id!);
          buf = buf.subarray(2 + buf.readUInt16BE(0));
        }
        if (ids.length === n) resolve();
      });
      s.once('close', () => reject(new Error(`closed after ${ids.length} answers`)));
    });
    expect(ids).toEqual(Array.from({ length: n }, (_, i) => i));
  });
});

describe('DNS is not an amplifier', () => {
  const udp = (to: Address, q: Buffer): Promise<Buffer> => udpExchange(to, q, 2000);

  it('answers ANY with one HINFO "RFC8482" record over UDP and TCP: under 2.2 times the query', async () => {
    register(100);
    const addr = await serve();
    for (const name of ['billing.service.hearsay', '_billing._tcp.service.hearsay', 'n1.node.hearsay', '0a000001.addr.hearsay', 'hearsay']) {
      for (const edns of [undefined, 4096]) {
        const q = query(name, ANY, 5, edns);
        const raw = await udp(addr, q);
        const res = dnsPacket.decode(raw);
        expect(res.answers, name).toEqual([{ type: 'HINFO', name, ttl: 0, class: 'IN', flush: false, data: { cpu: 'RFC8482', os: '' } }]);
        expect(res.flag_tc, name).toBe(false);
        expect(raw.length / q.length, name).toBeLessThan(2.2);
      }
    }
    const tcp = await ask(await open(addr), query('billing.service.hearsay', ANY));
    expect(tcp.answers?.map((a) => a.type)).toEqual(['HINFO']);
    expect(counters().anyMinimal).toBe(11);
  });

  it('keeps every UDP answer within 10 times its query and the size the client offers, with 100 instances registered', async () => {
    register(100);
    const addr = await serve();
    const names = ['billing.service.hearsay', '_billing._tcp.service.hearsay', 'n1.node.hearsay', '0a000001.addr.hearsay', 'hearsay', 'nothing.service.hearsay', 'x.y.hearsay', 'example.com'];
    const types: dnsPacket.RecordType[] = ['A', 'AAAA', 'SRV', ANY, 'TXT', 'SOA'];
    let worst = 0;
    for (const name of names) {
      for (const type of types) {
        for (const edns of [undefined, 512, 1232, 4096]) {
          const q = query(name, type, 9, edns);
          const raw = await udp(addr, q);
          expect(raw.length, `${type} ${name} edns ${edns}`).toBeLessThanOrEqual(Math.min(10 * q.length, edns ?? 512));
          worst = Math.max(worst, raw.length / q.length);
          const res = dnsPacket.decode(raw);
          expect(res.id).toBe(9);
        }
      }
    }
    expect(worst).toBeGreaterThan(8); // the bound binds: big answers are trimmed to it, TC set
    expect(counters().udpAmplificationLimited).toBeGreaterThan(0);
    // Over TCP (no spoofed source can receive it) the whole answer.
    const all = await ask(await open(addr), query('billing.service.hearsay', 'SRV'));
    expect(all.answers).toHaveLength(100);
  });

  it('a query of many questions that are compression pointers is not echoed back expanded', async () => {
    const addr = await serve();
    // One question with a 200-byte name, then 79 more that are each a 2-byte pointer to it.
    const first = dnsPacket.encode({ type: 'query', id: 3, questions: [{ type: 'A', name: `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.service.hearsay` }] });
    const pointer = Buffer.from([0xc0, 12, 0, 1, 0, 1]);
    const q = Buffer.concat([first, ...Array.from({ length: 79 }, () => pointer)]);
    q.writeUInt16BE(80, 4); // QDCOUNT
    expect(dnsPacket.decode(q).questions).toHaveLength(80);
    const raw = await udp(addr, q);
    expect(raw.length).toBeLessThanOrEqual(q.length);
    expect((dnsPacket.decode(raw) as unknown as { rcode: string }).rcode).toBe('FORMERR');
  });
});

describe('DNS limits: settings and counters', () => {
  it('reads the limits.dns* keys of the config file and refuses ones out of range, naming them', () => {
    const file = (limits: unknown) => ({ path: '/etc/hearsay.json', text: JSON.stringify({ limits }) });
    const c = resolveAgentConfig({
      flags: {},
      env: {},
      file: file({
        dnsMaxTcpConnections: 64,
        dnsMaxTcpPerSource: 4,
        dnsTcpHeaderTimeoutMs: 1000,
        dnsTcpIdleTimeoutMs: 5000,
        dnsTcpMaxQueuedAnswers: 8,
        dnsTcpMaxQueuedBytes: 32768,
        dnsMaxUdpAmplification: 3,
      }),
    });
    expect(dnsLimitOptions(c.limits)).toEqual({
      maxTcpConnections: 64,
      maxTcpPerSource: 4,
      tcpHeaderTimeoutMs: 1000,
      tcpIdleTimeoutMs: 5000,
      tcpMaxQueuedAnswers: 8,
      tcpMaxQueuedBytes: 32768,
      maxUdpAmplification: 3,
    });
    expect(() => resolveAgentConfig({ flags: {}, env: {}, file: file({ dnsTcpHeaderTimeoutMs: 5 }) })).toThrow(
      /"limits.dnsTcpHeaderTimeoutMs" in \/etc\/hearsay.json must be an integer in \[10, 600000\] \(got 5\)/,
    );
    expect(() => createDnsServer(agent, { maxTcpPerSource: 0, maxUdpAmplification: 0.5 })).toThrow(
      /maxTcpPerSource must be an integer in \[1, 65536\] \(got 0\); maxUdpAmplification must be an integer in \[1, 1000\] \(got 0.5\)/,
    );
  });

  it('every DNS counter is in the catalog, and /metrics shows them from the server given to it', async () => {
    const dns = createDnsServer(agent);
    expect(Object.keys(dns.counters).sort()).toEqual([...DNS_COUNTERS].sort());
    const declared = METRICS.flatMap((f) => f.series.map((s) => s.key)).filter((k) => k.startsWith('dns.'));
    expect(declared.sort()).toEqual([...DNS_COUNTER_KEYS].sort());
    (dns.counters as Record<string, number>)['tcpClosed.source-limit'] = 4;
    const http = createHttpServer(agent, { extraCounters: () => dnsCounterValues(dns.counters) });
    try {
      const res = await call(await http.listen({ host: '127.0.0.1', port: 0 }), '/metrics');
      expect(res.text).toContain('hearsay_dns_tcp_closed_total{reason="source-limit"} 4\n');
      expect(res.text).toContain('hearsay_dns_any_minimal_total 0\n');
    } finally {
      await http.close();
    }
  });

  it('hearsay agent applies limits.dns* from its config file and shows the DNS counters on /metrics', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearsay-dns-limits-'));
    const config = join(dir, 'agent.json');
    writeFileSync(config, JSON.stringify({ limits: { dnsMaxTcpPerSource: 1 } }));
    const signals = new EventEmitter();
    let ready: (r: { http: { address: Address | undefined }; dns?: DnsServer }) => void = () => undefined;
    const up = new Promise<{ http: { address: Address | undefined }; dns?: DnsServer }>((r) => (ready = r));
    const flags = { ...defaultAgentFlags(), config, bind: '127.0.0.1:0', http: '127.0.0.1:0', dns: '127.0.0.1:0', profile: 'local', 'log-level': 'silent' };
    const done = runAgent(flags, capture(), { env: {}, createAgent, signals, exit: () => undefined, onReady: (r) => ready(r) });
    try {
      const r = await Promise.race([up, done.then((code) => Promise.reject(new Error(`agent exited ${code}`)))]);
      const dnsAddr = r.dns?.address;
      const api = r.http.address;
      if (dnsAddr === undefined || api === undefined) throw new Error('no DNS or HTTP address');
      await open(dnsAddr, '127.0.0.30');
      await open(dnsAddr, '127.0.0.30'); // the second from one address closes the first
      await waitFor('the cap of 1 applied', () => r.dns?.counters['tcpClosed.source-limit'] === 1, 5000);
      const metrics = await call(api, '/metrics');
      expect(metrics.text).toContain('hearsay_dns_tcp_closed_total{reason="source-limit"} 1\n');
      expect(metrics.text).toContain('hearsay_dns_tcp_connections_open 1\n');
    } finally {
      signals.emit('SIGTERM', 'SIGTERM');
      await done;
    }
  });
});
