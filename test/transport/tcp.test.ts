import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from 'pino';
import { TransportCounters } from '../../src/transport/counters.js';
import { encodeFrame } from '../../src/transport/framing.js';
import { StreamTransport, type InboundFrameHandler } from '../../src/transport/tcp.js';
import type { Address } from '../../src/wire/messages.js';
import { closedPort, hasIPv6Loopback, silent, waitFor } from './support.js';

const open: StreamTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

interface Made {
  readonly t: StreamTransport;
  readonly counters: TransportCounters;
  readonly received: { from: Address; frame: Buffer }[];
}

function make(
  handler: InboundFrameHandler = () => {},
  opts: Partial<{ connectTimeoutMs: number; readTimeoutMs: number; maxFrameBytes: number }> = {},
  log: Logger = silent,
): Made {
  const counters = new TransportCounters();
  const received: { from: Address; frame: Buffer }[] = [];
  const t = new StreamTransport(
    { connectTimeoutMs: 2000, readTimeoutMs: 2000, maxFrameBytes: 1024, ...opts },
    counters,
    log,
    (from, frame, reply) => {
      received.push({ from, frame });
      handler(from, frame, reply);
    },
  );
  open.push(t);
  return { t, counters, received };
}

/** A raw client socket to 127.0.0.1:port, connected. */
function rawClient(port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port }, () => resolve(s));
    s.once('error', reject);
  });
}

const hasV6 = await hasIPv6Loopback();

describe('StreamTransport', () => {
  it('answers a dial on the same connection and the dialer receives every answer frame', async () => {
    const server = make((_from, frame, reply) => {
      reply(Buffer.from(`echo ${frame.toString()}`));
      reply(Buffer.from('and one more'));
    });
    const port = await server.t.listen('127.0.0.1', 0);
    const client = make();
    const answers: string[] = [];
    const result = await client.t.dial({ host: '127.0.0.1', port }, Buffer.from('hi'), (f) => answers.push(f.toString()));
    expect(result).toEqual({ ok: true, frames: 2 });
    expect(answers).toEqual(['echo hi', 'and one more']);
    expect(server.received[0]?.from.host).toBe('127.0.0.1');
    expect(server.counters.values['transport.stream.connectionsIn']).toBe(1);
    expect(client.counters.values['transport.stream.connectionsOut']).toBe(1);
    expect(client.counters.values['transport.stream.packetsIn']).toBe(2);
    expect(server.counters.values['transport.stream.packetsOut']).toBe(2);
  });

  it('gives each accepted connection its own from object', async () => {
    const server = make();
    const port = await server.t.listen('127.0.0.1', 0);
    const client = make();
    await client.t.dial({ host: '127.0.0.1', port }, Buffer.from('a'), () => {});
    await client.t.dial({ host: '127.0.0.1', port }, Buffer.from('b'), () => {});
    expect(server.received).toHaveLength(2);
    expect(server.received[0]?.from).not.toBe(server.received[1]?.from);
  });

  it('handles several frames written in one chunk by a client', async () => {
    const server = make();
    const port = await server.t.listen('127.0.0.1', 0);
    const s = await rawClient(port);
    s.end(Buffer.concat([encodeFrame(Buffer.from('one')), encodeFrame(Buffer.from('two')), encodeFrame(Buffer.from('three'))]));
    await waitFor('three frames arrived', () => server.received.length === 3);
    expect(server.received.map((r) => r.frame.toString())).toEqual(['one', 'two', 'three']);
    s.destroy();
  });

  it('cuts a connection whose frame announces more than the limit, and counts the drop', async () => {
    const server = make(() => {}, { maxFrameBytes: 64 });
    const port = await server.t.listen('127.0.0.1', 0);
    const s = await rawClient(port);
    let closed = false;
    s.on('close', () => (closed = true));
    s.on('error', () => {});
    const header = Buffer.alloc(4);
    header.writeUInt32BE(65, 0);
    s.write(header);
    await waitFor('the server cut the connection', () => closed);
    expect(server.counters.values['transport.dropped.frame-too-large']).toBe(1);
    expect(server.received).toHaveLength(0);
  });

  it('reports an oversized answer to the dialer as frame-too-large', async () => {
    const server = make((_f, _b, reply) => reply(Buffer.alloc(200)), { maxFrameBytes: 1024 });
    const port = await server.t.listen('127.0.0.1', 0);
    const client = make(() => {}, { maxFrameBytes: 100 });
    const result = await client.t.dial({ host: '127.0.0.1', port }, Buffer.from('x'), () => {});
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toBe('frame-too-large');
    expect(client.counters.values['transport.dropped.frame-too-large']).toBe(1);
  });

  it('refuses to send a frame over the limit', async () => {
    const client = make(() => {}, { maxFrameBytes: 10 });
    const result = await client.t.dial({ host: '127.0.0.1', port: 9 }, Buffer.alloc(11), () => {});
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toBe('send-too-large');
    expect(client.counters.values['transport.dropped.send-too-large']).toBe(1);
    expect(client.counters.values['transport.stream.connectionsOut']).toBe(0);
  });

  it('cuts an inbound connection whose message does not complete within the read timeout', async () => {
    const server = make(() => {}, { readTimeoutMs: 150 });
    const port = await server.t.listen('127.0.0.1', 0);
    const s = await rawClient(port);
    let closed = false;
    s.on('close', () => (closed = true));
    s.on('error', () => {});
    s.write(Buffer.from([0, 0, 0, 10, 1, 2])); // half a frame, then silence
    await waitFor('the server cut the connection', () => closed);
    expect(server.counters.values['transport.dropped.read-timeout']).toBe(1);
    expect(server.counters.values['transport.stream.readTimeouts']).toBe(1);
  });

  it('gives up on a peer that never answers after the read timeout', async () => {
    // The handler never replies and the raw server never closes: use a plain net server.
    const { createServer } = await import('node:net');
    const sockets: Socket[] = [];
    const mute = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => mute.listen({ host: '127.0.0.1', port: 0 }, () => r()));
    const addr = mute.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    const client = make(() => {}, { readTimeoutMs: 150 });
    const result = await client.t.dial({ host: '127.0.0.1', port }, Buffer.from('anyone?'), () => {});
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toBe('read-timeout');
    expect(client.counters.values['transport.dropped.read-timeout']).toBe(1);
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => mute.close(() => r()));
  });

  it('reports a refused connection with its errno', async () => {
    const client = make();
    const port = await closedPort();
    const result = await client.t.dial({ host: '127.0.0.1', port }, Buffer.from('x'), () => {});
    expect(result).toMatchObject({ ok: false, reason: 'connect-refused', errno: 'ECONNREFUSED' });
    if (!result.ok) expect(result.message).toContain('connection refused');
    expect(client.counters.values['transport.stream.connectFailures']).toBe(1);
    expect(client.counters.values['transport.dropped.connect-failed']).toBe(1);
  });

  it('drops a reply after the connection closed, counting it', async () => {
    let later: ((f: Uint8Array) => void) | null = null;
    const server = make((_from, _frame, reply) => {
      later = reply;
    });
    const port = await server.t.listen('127.0.0.1', 0);
    const client = make();
    await client.t.dial({ host: '127.0.0.1', port }, Buffer.from('x'), () => {});
    await waitFor('the server side closed', () => server.counters.openConnections === 0);
    expect(later).not.toBeNull();
    (later as unknown as (f: Uint8Array) => void)(Buffer.from('too late'));
    expect(server.counters.values['transport.dropped.connection-closed']).toBe(1);
  });

  it('resolves pending dials as closed when the transport closes', async () => {
    const { createServer } = await import('node:net');
    const sockets: Socket[] = [];
    const mute = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => mute.listen({ host: '127.0.0.1', port: 0 }, () => r()));
    const addr = mute.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    const client = make();
    const pending = client.t.dial({ host: '127.0.0.1', port }, Buffer.from('x'), () => {});
    await waitFor('the dial connected', () => sockets.length === 1);
    await client.t.close();
    expect(await pending).toMatchObject({ ok: false, reason: 'closed' });
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => mute.close(() => r()));
  });

  describe.skipIf(!hasV6)('over IPv6 (skipped when this machine has no ::1 loopback)', () => {
    it('answers a dial to [::1]', async () => {
      const server = make((_from, frame, reply) => reply(frame));
      const port = await server.t.listen('::1', 0);
      const client = make();
      const answers: string[] = [];
      const result = await client.t.dial({ host: '::1', port }, Buffer.from('v6'), (f) => answers.push(f.toString()));
      expect(result.ok).toBe(true);
      expect(answers).toEqual(['v6']);
      expect(server.received[0]?.from.host).toBe('::1');
    });
  });
});

if (!hasV6) console.warn('IPv6 stream test skipped: this machine cannot listen on ::1 (no IPv6 loopback)');
