/**
 * Shared pieces of the fuzz suite: a fast seeded PRNG (fast-check draws the seeds, so a failure
 * prints one that replays it), a corpus of valid packets, mutations, and the packet counts.
 *
 * Counts scale with HEARSAY_FUZZ_SCALE (default 1); at 1 they sum to 105,000 packets:
 *   decoder 50,000 · envelope 10,000 · simulator 25,000 · agent UDP 15,000 · agent TCP 5,000.
 */
import { encodeMessage, encodePacket, encodePushPullPacket } from '../../src/wire/codec.js';
import type { Address, MemberRecord, Message } from '../../src/wire/messages.js';

const SCALE = Math.max(0.001, Number(process.env.HEARSAY_FUZZ_SCALE ?? '1') || 1);
export const FUZZ_COUNTS = Object.freeze({
  decoder: Math.round(50_000 * SCALE),
  envelope: Math.round(10_000 * SCALE),
  sim: Math.round(25_000 * SCALE),
  udp: Math.round(15_000 * SCALE),
  tcp: Math.round(5_000 * SCALE),
});

/** xorshift32: cheap enough to drive 10^5 packets; seeded by fast-check. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  int(n: number): number {
    return this.next() % n;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }
}

const addr = (port: number): Address => ({ host: '127.0.0.1', port });
const state = { tags: { role: 'web', zone: 'a' }, payload: new Uint8Array([1, 2, 3]) };

/** Valid messages about `names` (so that a mutation is likely to reach deep into the core). */
export function validMessages(names: readonly string[], port: number): Message[] {
  const out: Message[] = [];
  for (const n of names) {
    out.push({ type: 'ping', seq: 7, target: n, source: 'x', sourceAddr: addr(port) });
    out.push({ type: 'ping-req', seq: 9, target: n, targetAddr: addr(port + 1), source: 'x', sourceAddr: addr(port), nack: true });
    out.push({ type: 'alive', node: n, addr: addr(port), incarnation: 3, state });
    out.push({ type: 'suspect', node: n, incarnation: 2, from: 'x' });
    out.push({ type: 'dead', node: n, incarnation: 1, from: 'x' });
  }
  out.push({ type: 'ack', seq: 7, digest: 12345 });
  out.push({ type: 'nack', seq: 9 });
  return out;
}

/** Valid packets: single messages, compounds, and push-pulls with a few records. */
export function validPackets(names: readonly string[], port: number): Uint8Array[] {
  const msgs = validMessages(names, port);
  const out = msgs.map((m) => encodePacket([encodeMessage(m)]));
  for (let i = 0; i + 3 <= msgs.length; i += 3) out.push(encodePacket(msgs.slice(i, i + 3).map(encodeMessage)));
  const members: MemberRecord[] = names.map((n, i) => ({ node: n, addr: addr(port + i), incarnation: i, status: i % 2 === 0 ? 'alive' : 'suspect', state }));
  out.push(encodePushPullPacket({ type: 'push-pull', join: true, reply: false, source: 'x', members }));
  out.push(encodePushPullPacket({ type: 'push-pull', join: false, reply: true, source: 'x', members: members.slice(0, 1) }));
  return out;
}

/** msgpack bytes that announce big lengths or odd types: a mutation that sets one is nasty. */
const NASTY = [0xdc, 0xdd, 0xde, 0xdf, 0xc4, 0xc5, 0xc6, 0xd9, 0xda, 0xdb, 0xc7, 0xc8, 0xc9, 0xcf, 0xd3, 0xcb, 0xc1, 0xff, 0x00, 0x7f];

/** One to four random mutations of `p` (flip, set, nasty byte, insert, delete, truncate, splice, duplicate). */
export function mutate(rng: Rng, p: Uint8Array, other: Uint8Array): Uint8Array {
  let b: Uint8Array = Uint8Array.from(p);
  const n = 1 + rng.int(4);
  for (let k = 0; k < n; k++) {
    const at = b.length === 0 ? 0 : rng.int(b.length);
    switch (rng.int(8)) {
      case 0:
        if (b.length > 0) b[at] = (b[at] as number) ^ (1 << rng.int(8));
        break;
      case 1:
        if (b.length > 0) b[at] = rng.next() & 0xff;
        break;
      case 2:
        if (b.length > 0) b[at] = rng.pick(NASTY);
        break;
      case 3: {
        const ins = rng.bytes(1 + rng.int(8));
        b = concat(b.subarray(0, at), ins, b.subarray(at));
        break;
      }
      case 4:
        b = concat(b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + rng.int(8))));
        break;
      case 5:
        b = b.subarray(0, at);
        break;
      case 6:
        b = concat(b.subarray(0, at), other.subarray(rng.int(Math.max(1, other.length))));
        break;
      default:
        b = concat(b, b.subarray(at));
        break;
    }
  }
  return b;
}

/** A random packet: pure noise, noise after a valid version byte, or a mutated valid one. */
export function fuzzPacket(rng: Rng, corpus: readonly Uint8Array[]): Uint8Array {
  switch (rng.int(4)) {
    case 0:
      return rng.bytes(rng.int(300));
    case 1:
      return concat(new Uint8Array([1]), rng.bytes(rng.int(200)));
    default:
      return mutate(rng, rng.pick(corpus), rng.pick(corpus));
  }
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function heapMb(): number {
  return process.memoryUsage().heapUsed / 1e6;
}
