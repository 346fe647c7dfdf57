import { afterEach, describe, expect, it } from 'vitest';
import { Agents, allSee, hostPort, statusOf, views, waitFor } from './support.js';

const agents = new Agents();
afterEach(() => agents.closeAll());

describe('agents in one process', () => {
  it('join through one seed and all list each other alive', async () => {
    const names = ['n1', 'n2', 'n3', 'n4', 'n5'];
    const all = await Promise.all(names.map((n) => agents.started(n)));
    const [seed, ...rest] = all;
    if (seed === undefined) throw new Error('no seed');
    const answered = await Promise.all(rest.map((a) => a.join([hostPort(seed)])));
    expect(answered).toEqual([1, 1, 1, 1]);
    await waitFor('every agent lists every agent alive', () => allSee(all, names, 'alive'), 20_000);
    for (const a of all) {
      const self = a.members().find((m) => m.name === a.name);
      expect(self).toMatchObject({ addr: '127.0.0.1', port: a.address.port, status: 'alive' });
    }
  });

  it('sees an agent closed without leaving as dead, and one that left as left', async () => {
    const names = ['a', 'b', 'c', 'd'];
    const all = await Promise.all(names.map((n) => agents.started(n)));
    const [a, b, c, d] = all as [(typeof all)[0], (typeof all)[0], (typeof all)[0], (typeof all)[0]];
    await Promise.all([b, c, d].map((x) => x.join([a.address])));
    await waitFor('all alive', () => allSee(all, names, 'alive'), 20_000);

    await d.close();
    await waitFor('a, b and c list d dead', () => allSee([a, b, c], ['d'], 'dead'), 30_000, 100, () => views([a, b, c]));

    await c.leave({ timeoutMs: 3000 });
    expect(c.state).toBe('closed');
    await waitFor('a and b list c left', () => allSee([a, b], ['c'], 'left'), 15_000, 100, () => views([a, b]));
    expect(statusOf(a, 'd')).toBe('dead');
    expect(allSee([a, b], ['a', 'b'], 'alive')).toBe(true);
  });

  it('spreads new tags to the other agents', async () => {
    const a = await agents.started('tag-a', { tags: { role: 'web' } });
    const b = await agents.started('tag-b');
    await b.join([a.address]);
    await waitFor('b sees a with its first tags', () => b.members().find((m) => m.name === 'tag-a')?.tags['role'] === 'web');
    const before = a.incarnation;
    a.setTags({ role: 'api', zone: 'z1' });
    expect(a.incarnation).toBe(before); // one state entry (t:) changed: no new incarnation since protocol 3
    await waitFor('b sees the new tags', () => b.members().find((m) => m.name === 'tag-a')?.tags['zone'] === 'z1', 10_000);
    expect(b.members().find((m) => m.name === 'tag-a')?.tags).toEqual({ role: 'api', zone: 'z1' });
  });

  it('reports counters from the core and the transport', async () => {
    const a = await agents.started('count-a');
    const b = await agents.started('count-b');
    await b.join([a.address]);
    const cb = b.counters();
    expect(cb['pushPullsSent']).toBeGreaterThanOrEqual(1);
    expect(cb['transport.stream.connectionsOut']).toBeGreaterThanOrEqual(1);
    expect(cb['transport.stream.packetsIn']).toBeGreaterThanOrEqual(1);
    expect(a.counters()['transport.stream.connectionsIn']).toBeGreaterThanOrEqual(1);
    await waitFor('a datagram went each way', () => (a.counters()['transport.datagram.packetsIn'] ?? 0) > 0 && (b.counters()['transport.datagram.packetsIn'] ?? 0) > 0, 10_000);
  });

  it('advertises the given address, not the bound one, and fills in the real port', async () => {
    const a = await agents.started('adv-a', { advertise: { host: 'localhost', port: 0 } });
    expect(a.bindAddress.host).toBe('127.0.0.1');
    expect(a.address).toEqual({ host: 'localhost', port: a.bindAddress.port });
    const b = await agents.started('adv-b');
    await b.join([a.bindAddress]);
    await waitFor('b lists a at its advertised host', () => b.members().find((m) => m.name === 'adv-a')?.addr === 'localhost');
    await waitFor('both alive in both views', () => allSee([a, b], ['adv-a', 'adv-b'], 'alive'), 10_000, 50, () => views([a, b]));
  });

  it('advertises a real interface address when bound to the wildcard address', async () => {
    const a = await agents.started('wild', { bind: { host: '0.0.0.0', port: 0 } });
    expect(a.bindAddress.host).toBe('0.0.0.0');
    expect(a.address.host).not.toBe('0.0.0.0');
    expect(a.address.port).toBe(a.bindAddress.port);
  });

  it('logs dropped packets at debug with the reason', async () => {
    const lines: { msg: string; reason?: string; component?: string }[] = [];
    const { pino } = await import('pino');
    const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    const a = await agents.started('drops', { logger });
    const { createSocket } = await import('node:dgram');
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.send(Buffer.from([99, 1, 2]), a.address.port, '127.0.0.1', () => r()));
    s.close();
    await waitFor('the drop was logged', () => lines.some((l) => l.msg === 'packet dropped'));
    expect(lines.find((l) => l.msg === 'packet dropped')).toMatchObject({ reason: 'bad-version', component: 'agent' });
    expect(a.counters()['dropped.bad-version']).toBe(1);
  });
});
