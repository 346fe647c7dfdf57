import { afterEach, describe, expect, it } from 'vitest';
import { createSocket } from 'node:dgram';
import { TransportCounters } from '../../src/transport/counters.js';
import { Transport } from '../../src/transport/transport.js';
import { DatagramTransport } from '../../src/transport/udp.js';
import type { Address } from '../../src/wire/messages.js';
import { hasIPv6Loopback, silent, waitFor } from './support.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

function udp(): { t: DatagramTransport; counters: TransportCounters; got: { from: Address; packet: Buffer }[] } {
  const counters = new TransportCounters();
  const got: { from: Address; packet: Buffer }[] = [];
  const t = new DatagramTransport(counters, silent, (from, packet) => got.push({ from, packet }));
  closers.push(() => t.close());
  return { t, counters, got };
}

const hasV6 = await hasIPv6Loopback();

describe('DatagramTransport', () => {
  it('carries a datagram there and back over 127.0.0.1 and counts packets and bytes', async () => {
    const a = udp();
    const b = udp();
    const pa = await a.t.bind('127.0.0.1', 0);
    const pb = await b.t.bind('127.0.0.1', 0);
    a.t.send({ host: '127.0.0.1', port: pb }, Buffer.from('ping'));
    await waitFor('b got the ping', () => b.got.length === 1);
    expect(b.got[0]).toEqual({ from: { host: '127.0.0.1', port: pa }, packet: Buffer.from('ping') });
    const from = b.got[0]?.from as Address;
    b.t.send(from, Buffer.from('ack'));
    await waitFor('a got the ack', () => a.got.length === 1);
    expect(a.got[0]?.packet.toString()).toBe('ack');
    expect(a.counters.values['transport.datagram.packetsOut']).toBe(1);
    expect(a.counters.values['transport.datagram.bytesOut']).toBe(4);
    expect(b.counters.values['transport.datagram.packetsIn']).toBe(1);
    expect(b.counters.values['transport.datagram.bytesIn']).toBe(4);
  });

  it('counts a send after close as dropped instead of throwing', async () => {
    const a = udp();
    await a.t.bind('127.0.0.1', 0);
    await a.t.close();
    a.t.send({ host: '127.0.0.1', port: 9 }, Buffer.from('x'));
    expect(a.counters.values['transport.dropped.closed']).toBe(1);
  });

  it.skipIf(!hasV6)('carries a datagram over ::1 with a udp6 socket (skipped without IPv6 loopback)', async () => {
    const a = udp();
    const b = udp();
    await a.t.bind('::1', 0);
    const pb = await b.t.bind('::1', 0);
    a.t.send({ host: '::1', port: pb }, Buffer.from('v6'));
    await waitFor('b got it', () => b.got.length === 1);
    expect(b.got[0]?.from.host).toBe('::1');
  });
});

describe('Transport', () => {
  function transport(bind: Address): Transport {
    const t = new Transport(
      { bind, connectTimeoutMs: 1000, readTimeoutMs: 1000, maxStreamBytes: 1 << 20, logger: silent },
      { onDatagram: () => {}, onStreamFrame: () => {} },
    );
    closers.push(() => t.close());
    return t;
  }

  it('binds TCP and UDP on the same port when asked for port 0, and reports it', async () => {
    const t = transport({ host: '127.0.0.1', port: 0 });
    const addr = await t.listen();
    expect(addr.host).toBe('127.0.0.1');
    expect(addr.port).toBeGreaterThan(0);
    // Both protocols hold the port: binding UDP on it again fails.
    const probe = createSocket('udp4');
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      probe.once('error', (e) => resolve(e));
      probe.bind({ address: '127.0.0.1', port: addr.port, exclusive: true }, () => resolve(null));
    });
    probe.close();
    expect(err?.code).toBe('EADDRINUSE');
  });

  it('resolves a host name to bind (localhost)', async () => {
    const t = transport({ host: 'localhost', port: 0 });
    const addr = await t.listen();
    expect(['127.0.0.1', '::1']).toContain(addr.host);
  });

  it('fails with a BindError naming the port when it is taken', async () => {
    const first = transport({ host: '127.0.0.1', port: 0 });
    const { port } = await first.listen();
    const second = transport({ host: '127.0.0.1', port });
    await expect(second.listen()).rejects.toMatchObject({ code: 'HEARSAY_ERR_BIND', port });
    await expect(second.listen()).rejects.toThrow(/another process .* uses this port/);
  });
});
