/**
 * The DNS interface through a real resolver: node:dns's Resolver (c-ares, the same stub resolver
 * library curl and many runtimes use) pointed at the server on 127.0.0.1, plus raw UDP and TCP
 * exchanges for what a stub resolver does not show (flags, truncation, malformed input).
 */
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { connect } from 'node:net';
import * as dnsPacket from 'dns-packet';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDnsServer, type DnsServer } from '../../src/dns/server.js';
import { feedRemote } from '../registry/support.js';
import type { LocalInstanceRecord } from '../../src/registry/types.js';
import type { Address } from '../../src/wire/messages.js';
import { FakeAgent, view } from '../api/fake-agent.js';
import { udpExchange } from './support.js';

let agent: FakeAgent;
let server: DnsServer;
let addr: Address;
let resolver: Resolver;

function remote(node: string, host: string, records: Partial<LocalInstanceRecord>[]): void {
  const full = records.map((r, i) => ({ id: `${node}-${i}`, name: 'billing', address: '', port: 8000 + i, tags: [], meta: {}, status: 'passing' as const, ...r }));
  const v = view(node, 'alive', { host });
  agent.views.push(v);
  feedRemote(agent.runtime, { type: 'member-join', member: v }, full);
}

beforeEach(async () => {
  agent = new FakeAgent('node-a');
  let seed = 1;
  server = createDnsServer(agent, { random: () => ((seed = (seed * 16807) % 2147483647) / 2147483647) });
  addr = await server.listen({ host: '127.0.0.1', port: 0 });
  resolver = new Resolver({ timeout: 2000, tries: 2 });
  resolver.setServers([`127.0.0.1:${addr.port}`]);
});

afterEach(async () => {
  await server.close();
  await agent.close();
});

const rawUdp = (q: Buffer): Promise<Buffer> => udpExchange(addr, q);

function rawTcp(queries: Buffer[]): Promise<dnsPacket.DecodedPacket[]> {
  return new Promise((resolve, reject) => {
    const sock = connect(addr.port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const out: dnsPacket.DecodedPacket[] = [];
    sock.on('connect', () => {
      for (const q of queries) {
        const framed = Buffer.alloc(2 + q.length);
        framed.writeUInt16BE(q.length, 0);
        q.copy(framed, 2);
        sock.write(framed);
      }
    });
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        out.push(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (out.length === queries.length) {
        sock.destroy();
        resolve(out);
      }
    });
    sock.on('error', reject);
  });
}

const rcodeOf = (p: dnsPacket.DecodedPacket): string => (p as unknown as { rcode: string }).rcode;

const query = (name: string, type: dnsPacket.RecordType, id = 7): Buffer =>
  dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] });

describe('DNS interface', () => {
  it('answers A and SRV for the passing instances of a service', async () => {
    remote('n1', '10.0.0.1', [{ port: 8080 }, { port: 8081, status: 'critical' }]);
    remote('n2', '10.0.0.2', [{ port: 9090 }]);
    expect((await resolver.resolve4('billing.service.hearsay')).sort()).toEqual(['10.0.0.1', '10.0.0.2']);
    const srv = await resolver.resolveSrv('billing.service.hearsay');
    expect(srv.map((r) => r.port).sort()).toEqual([8080, 9090]);
    expect(srv.map((r) => r.name).sort()).toEqual(['0a000001.addr.hearsay', '0a000002.addr.hearsay']);
    expect(await resolver.resolve4('0a000002.addr.hearsay')).toEqual(['10.0.0.2']);
    // RFC 2782 form.
    expect((await resolver.resolveSrv('_billing._tcp.service.hearsay')).length).toBe(2);
  });

  it('answers AAAA for IPv6 instances and filters by tag', async () => {
    remote('n1', '10.0.0.1', [{ tags: ['primary'] }, { address: 'fd00::5', tags: ['replica'] }]);
    expect(await resolver.resolve6('billing.service.hearsay')).toEqual(['fd00::5']);
    expect(await resolver.resolve4('primary.billing.service.hearsay')).toEqual(['10.0.0.1']);
    expect(await resolver.resolve4('PRIMARY.Billing.Service.Hearsay')).toEqual(['10.0.0.1']);
    const srv = await resolver.resolveSrv('replica.billing.service.hearsay');
    expect(srv).toHaveLength(1);
    expect(await resolver.resolve6(srv[0]!.name)).toEqual(['fd00::5']);
  });

  it("answers a node's address, and NXDOMAIN for unknown names", async () => {
    remote('web-7', '10.1.2.3', []);
    expect(await resolver.resolve4('web-7.node.hearsay')).toEqual(['10.1.2.3']);
    await expect(resolver.resolve4('nothing.service.hearsay')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(resolver.resolve4('ghost.node.hearsay')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(resolver.resolve4('what.ever.hearsay')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(server.counters.nxdomain).toBeGreaterThanOrEqual(3);
  });

  it('a known service with no passing instance is an empty answer, not NXDOMAIN', async () => {
    remote('n1', '10.0.0.1', [{ status: 'critical' }]);
    const res = dnsPacket.decode(await rawUdp(query('billing.service.hearsay', 'A')));
    expect(rcodeOf(res)).toBe('NOERROR');
    expect(res.answers).toEqual([]);
    expect(res.authorities?.[0]?.type).toBe('SOA');
  });

  it('refuses names outside its domain and is authoritative inside it', async () => {
    const refused = dnsPacket.decode(await rawUdp(query('example.com', 'A')));
    expect(rcodeOf(refused)).toBe('REFUSED');
    remote('n1', '10.0.0.1', [{}]);
    const ok = dnsPacket.decode(await rawUdp(query('billing.service.hearsay', 'A', 4242)));
    expect(ok.id).toBe(4242);
    expect(ok.flag_aa).toBe(true);
    expect(ok.flag_rd).toBe(true);
  });

  it('shuffles answers between queries', async () => {
    remote(
      'n1',
      '10.0.0.1',
      Array.from({ length: 8 }, (_, i) => ({ address: `10.0.1.${i + 1}` })),
    );
    const orders = new Set<string>();
    for (let i = 0; i < 10; i++) orders.add((await resolver.resolve4('billing.service.hearsay')).join(','));
    expect(orders.size).toBeGreaterThan(1);
    for (const o of orders) expect(o.split(',').sort()).toEqual(Array.from({ length: 8 }, (_, i) => `10.0.1.${i + 1}`).sort());
  });

  it('truncates a large UDP answer with TC set; the resolver retries over TCP and gets them all', async () => {
    remote(
      'n1',
      '10.0.0.1',
      Array.from({ length: 60 }, (_, i) => ({ address: `10.0.2.${i + 1}` })),
    );
    const udp = dnsPacket.decode(await rawUdp(query('billing.service.hearsay', 'SRV')));
    expect(udp.flag_tc).toBe(true);
    expect((udp.answers ?? []).length).toBeLessThan(60);
    expect(server.counters.truncated).toBeGreaterThan(0);
    const viaResolver = await resolver.resolveSrv('billing.service.hearsay');
    expect(viaResolver).toHaveLength(60);
    expect(server.counters.tcpQueries).toBeGreaterThan(0);
  });

  it('over TCP answers every instance; over UDP at most maxAnswers, with TC; dropping only additionals sets no TC', async () => {
    // maxAnswers alone: an amplification bound that does not bind (test/security/dns-edges.test.ts tests it).
    await server.close();
    server = createDnsServer(agent, { maxUdpAmplification: 1000 });
    addr = await server.listen({ host: '127.0.0.1', port: 0 });
    remote(
      'n1',
      '10.0.0.1',
      Array.from({ length: 100 }, (_, i) => ({ address: `10.0.${3 + Math.floor(i / 200)}.${(i % 200) + 1}` })),
    );
    const [tcp] = await rawTcp([query('billing.service.hearsay', 'A', 9)]);
    expect(tcp?.answers).toHaveLength(100);
    expect(tcp?.flag_tc).toBe(false);
    const edns = dnsPacket.encode({
      type: 'query',
      id: 10,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: 'A', name: 'billing.service.hearsay' }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096 } as unknown as dnsPacket.Answer],
    });
    const udp = dnsPacket.decode(await rawUdp(edns));
    expect(udp.answers).toHaveLength(64);
    expect(udp.flag_tc).toBe(true);
    // Find the number of SRV answers that fits the UDP bound (512 bytes, 10 times the query) only
    // without its A records in the additional section: all answers are there, the additionals
    // dropped, and no TC.
    let found = false;
    for (let n = 1; n <= 30 && !found; n++) {
      await agent.close();
      agent = new FakeAgent('node-a');
      await server.close();
      server = createDnsServer(agent, {});
      addr = await server.listen({ host: '127.0.0.1', port: 0 });
      remote('n2', '10.0.0.2', Array.from({ length: n }, (_, i) => ({ address: `10.9.0.${i + 1}` })));
      const srv = dnsPacket.decode(await rawUdp(query('billing.service.hearsay', 'SRV', 11)));
      if ((srv.additionals ?? []).length === 0 && !srv.flag_tc) {
        expect(srv.answers).toHaveLength(n);
        found = true;
      } else if (srv.flag_tc) break;
    }
    expect(found).toBe(true);
  });

  it('answers AAAA and an SRV target for an IPv4-mapped IPv6 address', async () => {
    remote('n1', '10.0.0.1', [{ address: '::ffff:1.2.3.4' }]);
    const srv = await resolver.resolveSrv('billing.service.hearsay');
    expect(srv[0]?.name).toBe('00000000000000000000ffff01020304.addr.hearsay');
    expect(await resolver.resolve6(srv[0]!.name)).toEqual(['::ffff:1.2.3.4']);
  });

  it('answers several queries on one TCP connection', async () => {
    remote('n1', '10.0.0.1', [{}]);
    const [a, b] = await rawTcp([query('billing.service.hearsay', 'A', 1), query('n1.node.hearsay', 'A', 2)]);
    expect(a?.id).toBe(1);
    expect(a?.answers?.[0]).toMatchObject({ type: 'A', data: '10.0.0.1' });
    expect(b?.id).toBe(2);
    expect(b?.answers?.[0]).toMatchObject({ type: 'A', data: '10.0.0.1' });
  });

  it('drops malformed queries, counts them and keeps answering', async () => {
    const s = createSocket('udp4');
    for (const junk of [Buffer.from([1, 2, 3]), Buffer.alloc(12, 0xff), Buffer.from('hello world, not dns')]) {
      await new Promise<void>((r) => s.send(junk, addr.port, '127.0.0.1', () => r()));
    }
    s.close();
    remote('n1', '10.0.0.1', [{}]);
    expect(await resolver.resolve4('billing.service.hearsay')).toEqual(['10.0.0.1']);
    expect(server.counters.malformed).toBeGreaterThanOrEqual(2);
  });
});
