/**
 * Seeds as names: parsing, resolution (a fake resolver, the system resolver for localhost, and a
 * real DNS server serving SRV records), and joins through every address a name resolves to.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { dnsResolver, parseSeed, resolveSeeds, type Seed, type SeedResolver } from '../../src/agent/seeds.js';
import { createDnsServer, type DnsServer } from '../../src/dns/server.js';
import { JoinError } from '../../src/errors.js';
import { closedPort } from '../transport/support.js';
import { Agents, allSee, waitFor } from './support.js';

const agents = new Agents();
const servers: DnsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await agents.closeAll();
});

const seed = (text: string): Seed => {
  const p = parseSeed(text);
  if (!p.ok) throw new Error(p.problem);
  return p.seed;
};

/** A resolver answering from tables; unknown names fail as getaddrinfo does. */
function fakeResolver(hosts: Record<string, string[]>, srv: Record<string, { name: string; port: number }[]> = {}): SeedResolver & { asked: string[] } {
  const asked: string[] = [];
  const notFound = (name: string): Error => Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
  return {
    asked,
    lookup: (host) => {
      asked.push(host);
      const found = hosts[host];
      return found === undefined ? Promise.reject(notFound(host)) : Promise.resolve(found);
    },
    resolveSrv: (name) => {
      asked.push(`srv:${name}`);
      const found = srv[name];
      return found === undefined ? Promise.reject(notFound(name)) : Promise.resolve(found);
    },
  };
}

describe('parseSeed', () => {
  it.each([
    ['10.0.0.5:7000', { kind: 'host', address: { host: '10.0.0.5', port: 7000 } }],
    ['peers.internal', { kind: 'host', address: { host: 'peers.internal', port: 7946 } }],
    ['[::1]:1', { kind: 'host', address: { host: '::1', port: 1 } }],
    ['dns+srv:_hearsay._udp.example.com', { kind: 'srv', name: '_hearsay._udp.example.com' }],
    ['DNS+SRV:_h._tcp.x', { kind: 'srv', name: '_h._tcp.x' }],
  ])('reads %j', (text, expected) => {
    expect(parseSeed(text)).toMatchObject({ ok: true, seed: expected });
  });

  it.each([
    ['dns+srv:', /after dns\+srv:, which is not a DNS name/],
    ['dns+srv:has space.example', /not a DNS name/],
    ['::1:7946', /IPv6 address without brackets/],
    ['peers.internal:http', /port "http"/],
  ])('refuses %j saying why', (text, problem) => {
    const p = parseSeed(text);
    expect(p.ok).toBe(false);
    if (!p.ok) expect(p.problem).toMatch(problem);
  });
});

describe('resolveSeeds', () => {
  it('turns a name into every address it has, an SRV name into every target at its port, and says which seeds failed', async () => {
    const r = fakeResolver(
      { 'peers.internal': ['10.0.0.1', '10.0.0.2', 'fd00::3'], 'n1.example': ['10.0.1.1'], 'n2.example': ['10.0.1.2'] },
      { '_hearsay._udp.example': [{ name: 'n1.example', port: 8001 }, { name: 'n2.example', port: 8002 }] },
    );
    const { targets, failures } = await resolveSeeds(
      [seed('peers.internal:7000'), seed('dns+srv:_hearsay._udp.example'), seed('10.0.0.1:7000'), seed('nowhere.example'), seed('dns+srv:_none._udp.example')],
      r,
    );
    expect(targets).toEqual([
      { address: { host: '10.0.0.1', port: 7000 }, via: 'peers.internal:7000' },
      { address: { host: '10.0.0.2', port: 7000 }, via: 'peers.internal:7000' },
      { address: { host: 'fd00::3', port: 7000 }, via: 'peers.internal:7000' },
      { address: { host: '10.0.1.1', port: 8001 }, via: 'dns+srv:_hearsay._udp.example' },
      { address: { host: '10.0.1.2', port: 8002 }, via: 'dns+srv:_hearsay._udp.example' },
      // 10.0.0.1:7000 again is not joined twice
    ]);
    expect(failures).toEqual([
      expect.objectContaining({ seed: 'nowhere.example', errno: 'ENOTFOUND', reason: 'the name has no such records' }),
      expect.objectContaining({ seed: 'dns+srv:_none._udp.example', errno: 'ENOTFOUND' }),
    ]);
  });

  it('does not ask the resolver about IP addresses', async () => {
    const r = fakeResolver({});
    const { targets } = await resolveSeeds([seed('10.0.0.9:1'), seed('[::1]:2')], r);
    expect(targets).toHaveLength(2);
    expect(r.asked).toEqual([]);
  });
});

describe('join through names', () => {
  it('joins every address a name resolves to, and asks the resolver again on every join', async () => {
    const a = await agents.started('name-a');
    const b = await agents.started('name-b');
    const r = fakeResolver({ 'peers.test': ['127.0.0.1'] });
    const c = await agents.started('name-c', { seedResolver: r });
    // One name, two ports: two targets (as a headless service with two pods would be).
    expect(await c.join([`peers.test:${a.address.port}`, `peers.test:${b.address.port}`])).toBe(2);
    await waitFor('all three alive everywhere', () => allSee([a, b, c], ['name-a', 'name-b', 'name-c'], 'alive'), 10_000);
    await c.join([`peers.test:${a.address.port}`]);
    expect(r.asked).toEqual(['peers.test', 'peers.test', 'peers.test']);
  });

  it('reports a name that does not resolve with the other seeds when none answers', async () => {
    const dead = await closedPort();
    const c = await agents.started('name-lonely', { seedResolver: fakeResolver({}) });
    const err = (await c.join(['nowhere.test', `127.0.0.1:${dead}`], { attempts: 1 }).catch((e: unknown) => e)) as JoinError;
    expect(err).toBeInstanceOf(JoinError);
    expect(err.failures.map((f) => f.seed)).toEqual(['nowhere.test', `127.0.0.1:${dead}`]);
    expect(err.message).toContain('nowhere.test: the name has no such records (ENOTFOUND)');
  });

  it('joins through localhost with the system resolver', async () => {
    const a = await agents.started('local-a');
    const b = await agents.started('local-b');
    expect(await b.join([`localhost:${a.address.port}`], { attempts: 1 })).toBeGreaterThanOrEqual(1);
    await waitFor('both alive in both views', () => allSee([a, b], ['local-a', 'local-b'], 'alive'), 10_000);
  });

  it('joins through a dns+srv: seed served by a real DNS server (a hearsay agent\'s own)', async () => {
    const a = await agents.started('srv-a');
    a.register({ name: 'gossip', port: a.address.port, address: '127.0.0.1', tags: ['udp'] });
    const dns = createDnsServer(a);
    servers.push(dns);
    const at = await dns.listen({ host: '127.0.0.1', port: 0 });
    const b = await agents.started('srv-b', { seedResolver: dnsResolver([`127.0.0.1:${at.port}`]) });
    expect(await b.join(['dns+srv:_gossip._udp.service.hearsay'], { attempts: 1 })).toBe(1);
    await waitFor('both alive in both views', () => allSee([a, b], ['srv-a', 'srv-b'], 'alive'), 10_000);
  });
});
