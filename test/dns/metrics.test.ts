/**
 * DNS metrics: the query type and outcome read from the bytes of each exchange, and the server's
 * one hook, called for every query it handles over UDP and TCP (answered or dropped).
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import * as dnsPacket from 'dns-packet';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { answerOutcome, DnsMetrics, queryType, type DnsOutcome, type DnsProtocol, type DnsQueryType } from '../../src/dns/metrics.js';
import { createDnsServer, type DnsServer } from '../../src/dns/server.js';
import { feedRemote } from '../registry/support.js';
import type { Address } from '../../src/wire/messages.js';
import { FakeAgent, view } from '../api/fake-agent.js';

/** A query; `type` as a string because dns-packet's types leave out ANY, which it encodes. */
const query = (name: string, type: string): Buffer =>
  dnsPacket.encode({ type: 'query', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: type as dnsPacket.RecordType, name }] });

const response = (flags: number, answers: dnsPacket.Answer[] = []): Buffer =>
  dnsPacket.encode({ type: 'response', id: 7, flags, questions: [{ type: 'A', name: 'x.hearsay' }], answers });

describe('queryType', () => {
  it.each([
    ['A', 'A'],
    ['AAAA', 'AAAA'],
    ['SRV', 'SRV'],
    ['ANY', 'ANY'],
    ['SOA', 'SOA'],
    ['TXT', 'other'],
    ['MX', 'other'],
  ] as const)('reads %s as %s', (type, expected) => {
    expect(queryType(query('web.service.hearsay', type))).toBe(expected);
  });

  it('reads a name that ends in a compression pointer, and calls anything cut short or without a question other', () => {
    const q = query('a.hearsay', 'SRV');
    // Header, then a pointer (0xc0 0x0c) in place of the name, then type SRV and class IN.
    const pointed = Buffer.concat([q.subarray(0, 12), Buffer.from([0xc0, 0x0c, 0x00, 0x21, 0x00, 0x01])]);
    expect(queryType(pointed)).toBe('SRV');
    expect(queryType(q.subarray(0, q.length - 4))).toBe('other');
    expect(queryType(Buffer.alloc(5))).toBe('other');
    expect(queryType(Buffer.alloc(12))).toBe('other'); // no question
    expect(queryType(Buffer.concat([q.subarray(0, 12), Buffer.alloc(300, 0x3f)]))).toBe('other');
  });
});

describe('answerOutcome', () => {
  it('reads the rcode, the TC bit and the answer count of the response header', () => {
    const a: dnsPacket.Answer = { type: 'A', name: 'x.hearsay', data: '10.0.0.1' };
    expect(answerOutcome(response(0, [a]))).toBe('answered');
    expect(answerOutcome(response(0))).toBe('empty');
    expect(answerOutcome(response(dnsPacket.TRUNCATED_RESPONSE, [a]))).toBe('truncated');
    expect(answerOutcome(response(3))).toBe('nxdomain');
    expect(answerOutcome(response(5))).toBe('refused');
    expect(answerOutcome(response(1))).toBe('formerr');
    expect(answerOutcome(response(4))).toBe('notimp');
    expect(answerOutcome(response(2))).toBe('servfail');
    expect(answerOutcome(undefined)).toBe('malformed');
  });
});

describe('the DNS server hook', () => {
  let agent: FakeAgent;
  let server: DnsServer;
  let addr: Address;
  let metrics: DnsMetrics;
  let calls: [DnsQueryType, DnsOutcome, DnsProtocol, number][];

  beforeEach(async () => {
    agent = new FakeAgent('node-a');
    metrics = new DnsMetrics();
    calls = [];
    server = createDnsServer(agent, {
      onQuery: (type, outcome, protocol, seconds) => {
        calls.push([type, outcome, protocol, seconds]);
        metrics.onQuery(type, outcome, protocol, seconds);
      },
    });
    addr = await server.listen({ host: '127.0.0.1', port: 0 });
  });

  afterEach(async () => {
    await server.close();
    await agent.close();
  });

  /** Sends `q` over UDP; resolves once the hook has seen it (answered or not). */
  const udp = async (q: Buffer): Promise<void> => {
    const before = calls.length;
    const s = createSocket('udp4');
    s.send(q, addr.port, '127.0.0.1');
    for (let i = 0; i < 400 && calls.length === before; i++) await new Promise((r) => setTimeout(r, 5));
    s.close();
    expect(calls.length, 'the hook was not called').toBe(before + 1);
  };

  const tcp = (q: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      const sock = connect(addr.port, '127.0.0.1', () => {
        const framed = Buffer.alloc(2 + q.length);
        framed.writeUInt16BE(q.length, 0);
        q.copy(framed, 2);
        sock.write(framed);
      });
      sock.once('data', () => {
        sock.destroy();
        resolve();
      });
      sock.on('error', reject);
    });

  it('is called once per query with its type, outcome, protocol and a duration', async () => {
    agent.register({ name: 'web', port: 80, address: '10.0.0.1' });
    agent.register({ name: 'down', port: 81, address: '10.0.0.2', checks: [{ ttl: '10s' }] }); // critical until its TTL check passes
    await udp(query('web.service.hearsay', 'A'));
    await udp(query('web.service.hearsay', 'SRV'));
    await udp(query('down.service.hearsay', 'A'));
    await udp(query('nope.service.hearsay', 'AAAA'));
    await udp(query('example.com', 'A'));
    await udp(query('hearsay', 'SOA'));
    await udp(Buffer.from('not a dns query at all'));
    await udp(dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name: 'a.hearsay' }, { type: 'A', name: 'b.hearsay' }] }));
    await tcp(query('web.service.hearsay', 'ANY'));
    expect(calls.map(([t, o, p]) => `${t} ${o} ${p}`)).toEqual([
      'A answered udp',
      'SRV answered udp',
      'A empty udp',
      'AAAA nxdomain udp',
      'A refused udp',
      'SOA answered udp',
      'other malformed udp',
      'A formerr udp',
      'ANY answered tcp',
    ]);
    for (const [, , , seconds] of calls) expect(seconds).toBeGreaterThanOrEqual(0);
    // The counters the server kept before go on.
    expect(server.counters.queries).toBe(8);
    expect(server.counters.malformed).toBe(1);
    expect(server.counters.nxdomain).toBe(1);
    expect(server.counters.refused).toBe(1);
    expect(metrics.queryCounts()).toContainEqual({ labels: { type: 'A', outcome: 'answered' }, value: 1 });
    expect(metrics.histograms()['dnsDuration.udp']?.count).toBe(8);
    expect(metrics.histograms()['dnsDuration.tcp']?.count).toBe(1);
  });

  it('names a UDP answer cut short for the TCP retry truncated', async () => {
    const records = Array.from({ length: 100 }, (_, i) => ({ id: `r-${i}`, name: 'big', address: `10.1.0.${i + 1}`, port: 9000, tags: [], meta: {}, status: 'passing' as const }));
    const v = view('node-b', 'alive', { host: '127.0.0.2' });
    agent.views.push(v);
    feedRemote(agent.runtime, { type: 'member-join', member: v }, records);
    await udp(query('big.service.hearsay', 'A'));
    expect(calls.map(([t, o]) => `${t} ${o}`)).toEqual(['A truncated']);
  });
});
