/**
 * Fuzzing a real agent's UDP and TCP ports on 127.0.0.1 (bounded loops), and the TCP limits:
 * a slow client (slowloris), an oversized push-pull, too many bytes on one connection, and too
 * many connections at once are each cut off and counted. The victim runs with a key and a
 * cluster label beside a keyed peer; the attacker holds no key (or a wrong one).
 */
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { HearsayAgent } from '../../src/agent/agent.js';
import { Envelope } from '../../src/security/envelope.js';
import { generateKey, Keyring } from '../../src/security/keyring.js';
import { encodeFrame } from '../../src/transport/framing.js';
import { encodeMessage, encodePacket } from '../../src/wire/codec.js';
import { Agents, allSee, waitFor } from '../agent/support.js';
import { FUZZ_COUNTS, fuzzPacket, heapMb, mutate, Rng, validPackets } from './fuzz-support.js';

const agents = new Agents();
afterEach(() => agents.closeAll());

const KEY = generateKey();
const LABEL = 'fuzz-mesh';
const intruders = ['intruder-1', 'intruder-2'];

async function keyedPair(extra: Record<string, unknown> = {}): Promise<[HearsayAgent, HearsayAgent]> {
  const security = { keys: [KEY], label: LABEL };
  const victim = (await agents.started('victim', { security, ...extra })) as HearsayAgent;
  const peer = (await agents.started('peer', { security })) as HearsayAgent;
  await peer.join([victim.address]);
  await waitFor('pair converged', () => allSee([victim, peer], ['victim', 'peer'], 'alive'));
  return [victim, peer];
}

/** Packets an attacker without our key can make: noise, plaintext, wrong-key, replayed-and-mutated. */
function attackerPackets(rng: Rng, corpus: readonly Uint8Array[], genuine: Envelope, wrongKey: Envelope, plainLabelled: Envelope): Uint8Array {
  const base = rng.pick(corpus);
  switch (rng.int(5)) {
    case 0:
      return fuzzPacket(rng, corpus);
    case 1:
      return plainLabelled.seal(base); // right label, no encryption
    case 2:
      return wrongKey.seal(base);
    case 3: {
      // Sealed with our key (as if captured on the wire; the mesh never sent these contents) and
      // tampered with. A mutation that happens to give back the very bytes is a replay, which no
      // MAC can refuse (SECURITY.md): flip a bit so that it is a tampering.
      const sealed = genuine.seal(base);
      const m = mutate(rng, sealed, sealed);
      if (Buffer.from(m).equals(sealed)) {
        const at = rng.int(m.length);
        m[at] = (m[at] as number) ^ 0x20;
      }
      return m;
    }
    default:
      return plainLabelled.seal(fuzzPacket(rng, corpus));
  }
}

function dropsOf(a: HearsayAgent): number {
  return Object.entries(a.counters())
    .filter(([k]) => k.startsWith('security.dropped.') || k.startsWith('dropped.'))
    .reduce((n, [, v]) => n + v, 0);
}

describe('fuzz: a real agent', () => {
  it(`UDP: ${FUZZ_COUNTS.udp} unauthenticated packets never add a member, never throw, memory stays bounded`, async () => {
    const [victim, peer] = await keyedPair();
    const corpus = validPackets(intruders, victim.address.port);
    const genuine = new Envelope({ keyring: Keyring.fromBase64([KEY]), label: LABEL });
    const wrongKey = new Envelope({ keyring: Keyring.fromBase64([generateKey()]), label: LABEL });
    const plain = new Envelope({ keyring: null, label: LABEL });
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const in0 = victim.counters()['transport.datagram.packetsIn'] ?? 0;
    const heap0 = heapMb();
    const incarnations = (): Map<string, number> => new Map(victim.members().map((m) => [m.name, m.incarnation]));
    let last = incarnations();
    const seed = fc.sample(fc.integer({ min: 1, max: 0x7fff_ffff }), 1)[0] as number;
    const rng = new Rng(seed);
    let sent = 0;
    try {
      while (sent < FUZZ_COUNTS.udp) {
        const batch: Promise<void>[] = [];
        for (let i = 0; i < 64 && sent < FUZZ_COUNTS.udp; i++, sent++) {
          const p = attackerPackets(rng, corpus, genuine, wrongKey, plain);
          batch.push(new Promise((r) => sock.send(p.length === 0 ? new Uint8Array([0]) : p, victim.address.port, '127.0.0.1', () => r())));
        }
        await Promise.all(batch);
        // Flow control: let the victim catch up (a full socket buffer would just drop), bounded.
        for (let k = 0; k < 100 && (victim.counters()['transport.datagram.packetsIn'] ?? 0) - in0 < sent - 8; k++) {
          await new Promise((r) => setTimeout(r, 1));
        }
        expect(victim.members().map((m) => m.name).sort(), `seed ${seed}`).toEqual(['peer', 'victim']);
        const now = incarnations();
        for (const [name, inc] of now) expect(inc, `seed ${seed}: ${name}'s incarnation only grows`).toBeGreaterThanOrEqual(last.get(name) ?? 0);
        last = now;
      }
    } finally {
      sock.close();
    }
    await waitFor('victim read the datagrams', () => (victim.counters()['transport.datagram.packetsIn'] ?? 0) - in0 >= sent * 0.9, 10_000);
    const received = (victim.counters()['transport.datagram.packetsIn'] ?? 0) - in0;
    console.log(`fuzz: agent UDP: ${sent} datagrams sent, ${received} received by the victim (seed ${seed})`);
    expect(victim.members().map((m) => m.name).sort()).toEqual(['peer', 'victim']);
    expect(peer.members().map((m) => m.name).sort()).toEqual(['peer', 'victim']);
    expect(dropsOf(victim)).toBeGreaterThan(received * 0.9);
    expect(victim.counters()['security.dropped.decrypt-failed']).toBeGreaterThan(0);
    expect(victim.counters()['security.dropped.unencrypted']).toBeGreaterThan(0);
    expect(heapMb() - heap0).toBeLessThan(256);
    expect(victim.state).toBe('running');
    // Still a working mesh.
    expect(allSee([victim, peer], ['victim', 'peer'], 'alive')).toBe(true);
  });

  it(`TCP: ${FUZZ_COUNTS.tcp} unauthenticated frames over many connections never add a member; every connection closes`, async () => {
    const [victim, peer] = await keyedPair({ tcpReadTimeoutMs: 2000 });
    const corpus = validPackets(intruders, victim.address.port);
    const genuine = new Envelope({ keyring: Keyring.fromBase64([KEY]), label: LABEL });
    const wrongKey = new Envelope({ keyring: Keyring.fromBase64([generateKey()]), label: LABEL });
    const plain = new Envelope({ keyring: null, label: LABEL });
    const seed = fc.sample(fc.integer({ min: 1, max: 0x7fff_ffff }), 1)[0] as number;
    const rng = new Rng(seed);
    const framesPerConnection = 10;
    const connections = Math.ceil(FUZZ_COUNTS.tcp / framesPerConnection);
    const parallel = 8;
    // Well-framed attacker frames go ten to a connection; raw noise (a bad length prefix, which
    // ends the connection's framing) goes on its own connection, so that every framed one is read.
    let framed = 0;
    let noise = 0;
    let next = 0;
    const send = (chunks: readonly Uint8Array[]): Promise<void> =>
      new Promise<void>((resolve) => {
        const s = connect({ host: '127.0.0.1', port: victim.address.port });
        s.on('connect', () => {
          for (const c of chunks) s.write(c);
          s.end();
        });
        s.on('data', () => undefined);
        s.on('error', () => undefined);
        s.on('close', () => resolve());
      });
    const streamIn0 = victim.counters()['transport.stream.packetsIn'] ?? 0;
    const worker = async (): Promise<void> => {
      while (next < connections) {
        next++;
        const chunks: Uint8Array[] = [];
        const raw: Uint8Array[] = [];
        while (chunks.length < framesPerConnection) {
          const p = attackerPackets(rng, corpus, genuine, wrongKey, plain);
          if (rng.int(10) === 0) raw.push(p);
          else chunks.push(encodeFrame(p));
        }
        framed += chunks.length;
        await send(chunks);
        for (const r of raw) {
          noise++;
          await send([r]);
        }
      }
    };
    await Promise.all(Array.from({ length: parallel }, worker));
    expect(framed).toBeGreaterThanOrEqual(FUZZ_COUNTS.tcp);
    expect(noise).toBeGreaterThan(0);
    // Every framed packet reached the agent's stream handling (and was dropped there, counted).
    await waitFor('the victim read every framed packet', () => (victim.counters()['transport.stream.packetsIn'] ?? 0) - streamIn0 >= framed);
    expect(victim.members().map((m) => m.name).sort(), `seed ${seed}`).toEqual(['peer', 'victim']);
    await waitFor('connections closed', () => victim.counters()['transport.stream.connectionsOpen'] === 0);
    expect(victim.counters()['security.dropped.decrypt-failed']).toBeGreaterThan(0);
    expect(allSee([victim, peer], ['victim', 'peer'], 'alive')).toBe(true);
  });
});

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}
const closed = (s: Socket): Promise<void> => new Promise((r) => (s.destroyed ? r() : s.once('close', () => r())));

describe('TCP limits', () => {
  it('a slow client (slowloris) is cut at the read timeout and counted', async () => {
    const victim = await agents.started('slow-victim', { tcpReadTimeoutMs: 300 });
    const s = await openSocket(victim.address.port);
    s.on('error', () => undefined);
    s.write(Buffer.from([0, 0])); // half a length prefix, then nothing
    await closed(s);
    expect(victim.counters()['transport.dropped.read-timeout']).toBeGreaterThanOrEqual(1);
  });

  it('an oversized push-pull is refused from its length prefix, before it is buffered', async () => {
    const victim = await agents.started('big-victim', { membership: { maxStreamBytes: 4096 } });
    const s = await openSocket(victim.address.port);
    s.on('error', () => undefined);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(64 * 1024 * 1024);
    s.write(header);
    await closed(s);
    expect(victim.counters()['transport.dropped.frame-too-large']).toBe(1);
  });

  it('too many bytes on one connection, even in small frames, cut it', async () => {
    const victim = await agents.started('bytes-victim', { membership: { maxStreamBytes: 4096 }, limits: { maxConnectionBytes: 8192 } });
    const s = await openSocket(victim.address.port);
    s.on('error', () => undefined);
    const frame = encodeFrame(encodePacket([encodeMessage({ type: 'nack', seq: 1 })]));
    const many = Buffer.concat(Array.from({ length: Math.ceil(9000 / frame.length) }, () => frame));
    s.write(many);
    await closed(s);
    expect(victim.counters()['transport.dropped.connection-bytes']).toBe(1);
  });

  it('inbound connections over the cap are closed at once and counted', async () => {
    const victim = await agents.started('cap-victim', { limits: { maxInboundConnections: 4 } });
    const sockets = await Promise.all(Array.from({ length: 10 }, () => openSocket(victim.address.port)));
    for (const s of sockets) s.on('error', () => undefined);
    await waitFor('refusals counted', () => (victim.counters()['transport.dropped.connection-limit'] ?? 0) >= 6);
    expect(victim.counters()['transport.dropped.connection-limit']).toBe(6);
    for (const s of sockets) s.destroy();
    await waitFor('connections closed', () => victim.counters()['transport.stream.connectionsOpen'] === 0);
    // Once they are gone, a new connection is accepted again (a refused one also connects at the
    // TCP level, so count what the agent accepted and refused).
    const accepted = victim.counters()['transport.stream.connectionsIn'] ?? 0;
    const again = await openSocket(victim.address.port);
    again.on('error', () => undefined);
    await waitFor('the new connection accepted', () => (victim.counters()['transport.stream.connectionsIn'] ?? 0) === accepted + 1);
    expect(victim.counters()['transport.dropped.connection-limit']).toBe(6);
    again.destroy();
  });

  it('an oversized datagram is dropped and counted', async () => {
    const victim = await agents.started('dgram-victim', { limits: { maxDatagramBytes: 2000 } });
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    sock.send(Buffer.alloc(3000, 1), victim.address.port, '127.0.0.1');
    await waitFor('dropped', () => victim.counters()['security.dropped.datagram-too-large'] === 1);
    sock.close();
  });
});

describe('outbound TCP limit', () => {
  it('dials over maxOutboundConnections fail at once with a clear reason and are counted', async () => {
    const { createServer } = await import('node:net');
    const held: Socket[] = [];
    const server = createServer((s) => held.push(s)); // accepts and never answers
    const second = createServer((s) => held.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    await new Promise<void>((r) => second.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const port2 = (second.address() as { port: number }).port;
    try {
      const a = await agents.started('dialer', { limits: { maxOutboundConnections: 1 }, tcpReadTimeoutMs: 400 });
      const err = await a.join([`127.0.0.1:${port}`, `127.0.0.1:${port2}`], { attempts: 1, timeoutMs: 1000 }).catch((e: unknown) => e);
      expect(String((err as Error).message)).toMatch(/too many outbound connections open \(limit 1\)/);
      expect(a.counters()['transport.dropped.dial-limit']).toBe(1);
    } finally {
      for (const s of held) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => second.close(() => r()));
    }
  });
});
