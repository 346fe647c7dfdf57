/**
 * DNS in Consul's forms (`consulDomain`, what `hearsay agent --dns-domain consul` sets), through a
 * real stub resolver (node:dns, c-ares) and raw queries for the SRV targets: the same services
 * answer as NAME.service.consul, TAG.NAME.service.consul, _NAME._tcp.service.consul and
 * NODE.node.consul, each with or without the datacenter label, while the default domain keeps
 * today's forms and targets.
 */
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import * as dnsPacket from 'dns-packet';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDnsServer, type DnsServer } from '../../src/dns/server.js';
import { feedRemote } from '../registry/support.js';
import type { LocalInstanceRecord } from '../../src/registry/types.js';
import type { Address } from '../../src/wire/messages.js';
import { FakeAgent, view } from '../api/fake-agent.js';

let agent: FakeAgent;
let server: DnsServer;
let addr: Address;
let resolver: Resolver;

function remote(node: string, host: string, records: Partial<LocalInstanceRecord>[]): void {
  const full = records.map((r, i) => ({ id: `${node}-${i}`, name: 'web', address: '', port: 8000 + i, tags: [], meta: {}, status: 'passing' as const, ...r }));
  const v = view(node, 'alive', { host });
  agent.views.push(v);
  feedRemote(agent.runtime, { type: 'member-join', member: v }, full);
}

beforeEach(async () => {
  agent = new FakeAgent('node-a');
  server = createDnsServer(agent, { consulDomain: 'consul', datacenter: 'east' });
  addr = await server.listen({ host: '127.0.0.1', port: 0 });
  resolver = new Resolver({ timeout: 2000, tries: 2 });
  resolver.setServers([`127.0.0.1:${addr.port}`]);
  remote('node-b', '10.0.0.2', [{ tags: ['v1'] }, { tags: ['v2'], status: 'critical' }]);
  remote('node-c', '10.0.0.3', [{ tags: ['v2'] }]);
});

afterEach(async () => {
  await server.close();
  await agent.close();
});

/** dns-packet decodes the response code, but its types leave it out. */
const rcodeOf = (p: dnsPacket.DecodedPacket): string => (p as unknown as { rcode: string }).rcode;

function udp(name: string, type: dnsPacket.RecordType): Promise<dnsPacket.DecodedPacket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      reject(new Error('no UDP answer'));
    }, 2000);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(dnsPacket.decode(m));
    });
    s.send(dnsPacket.encode({ type: 'query', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] }), addr.port, '127.0.0.1');
  });
}

describe('DNS in Consul forms under --dns-domain', () => {
  it('answers NAME.service.consul with the passing instances, with and without the datacenter label', async () => {
    expect((await resolver.resolve4('web.service.consul')).sort()).toEqual(['10.0.0.2', '10.0.0.3']);
    expect((await resolver.resolve4('web.service.east.consul')).sort()).toEqual(['10.0.0.2', '10.0.0.3']);
    expect((await resolver.resolve4('WEB.Service.CONSUL.')).sort()).toEqual(['10.0.0.2', '10.0.0.3']);
  });

  it('filters by tag as TAG.NAME.service.consul and reads _NAME._tcp as RFC 2782 with no tag', async () => {
    expect(await resolver.resolve4('v2.web.service.consul')).toEqual(['10.0.0.3']);
    expect(await resolver.resolve4('v1.web.service.east.consul')).toEqual(['10.0.0.2']);
    const srv = await resolver.resolveSrv('_web._tcp.service.consul');
    expect(srv.map((r) => r.port).sort()).toEqual([8000, 8000]);
    expect((await resolver.resolveSrv('_web._v2.service.consul')).map((r) => r.name)).toEqual(['0a000003.addr.east.consul']);
  });

  it('points SRV targets at HEX.addr.DC.consul names, with their A records in the additional section, and resolves them', async () => {
    const res = await udp('web.service.consul', 'SRV');
    const targets = (res.answers ?? []).map((a) => (a.type === 'SRV' ? a.data.target : '')).sort();
    expect(targets).toEqual(['0a000002.addr.east.consul', '0a000003.addr.east.consul']);
    const extra = (res.additionals ?? []).flatMap((a) => (a.type === 'A' ? [[a.name, a.data]] : []));
    expect(extra.sort()).toEqual([
      ['0a000002.addr.east.consul', '10.0.0.2'],
      ['0a000003.addr.east.consul', '10.0.0.3'],
    ]);
    expect(await resolver.resolve4('0a000003.addr.east.consul')).toEqual(['10.0.0.3']);
  });

  it('answers NODE.node.consul and NODE.node.DC.consul with the node address, NXDOMAIN for an unknown node', async () => {
    expect(await resolver.resolve4('node-b.node.consul')).toEqual(['10.0.0.2']);
    expect(await resolver.resolve4('node-c.node.east.consul')).toEqual(['10.0.0.3']);
    await expect(resolver.resolve4('nobody.node.consul')).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });

  it('is NXDOMAIN for another datacenter and for an unknown service, with the consul SOA', async () => {
    const other = await udp('web.service.west.consul', 'A');
    expect(rcodeOf(other)).toBe('NXDOMAIN');
    expect((other.authorities ?? [])[0]).toMatchObject({ type: 'SOA', name: 'consul' });
    expect(rcodeOf(await udp('nope.service.consul', 'A'))).toBe('NXDOMAIN');
  });

  it('keeps the hearsay domain with its own forms and targets, and refuses other domains', async () => {
    expect((await resolver.resolve4('web.service.hearsay')).sort()).toEqual(['10.0.0.2', '10.0.0.3']);
    const srv = await udp('web.service.hearsay', 'SRV');
    expect((srv.answers ?? []).map((a) => (a.type === 'SRV' ? a.data.target : '')).sort()).toEqual(['0a000002.addr.hearsay', '0a000003.addr.hearsay']);
    // The datacenter label is Consul's form only.
    expect(rcodeOf(await udp('web.service.east.hearsay', 'A'))).toBe('NXDOMAIN');
    expect(rcodeOf(await udp('web.service.example', 'A'))).toBe('REFUSED');
    expect(server.counters.refused).toBe(1);
  });
});
