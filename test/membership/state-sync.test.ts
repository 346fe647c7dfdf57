/**
 * The state layer carried by the membership core (src/membership/state-sync.ts), by hand: deltas
 * piggybacked, announcements fetched over a stream, gaps asked for, any holder answering, digest
 * exchanges after a summary differs, tombstones, generations, limits, and the old protocol refused.
 */
import { describe, expect, it } from 'vitest';
import { Hand, type Packet } from './harness.js';
import { Membership } from '../../src/membership/membership.js';
import type { StateConfig } from '../../src/membership/state-sync.js';
import type { MembershipEvent } from '../../src/membership/types.js';
import { decodePacket, encodeMessage, encodePacket } from '../../src/wire/codec.js';
import type { StateDeltaMessage } from '../../src/wire/messages.js';
import { StateLimitError } from '../../src/errors.js';
import { SeededRandom } from '../../src/util/random.js';
import { resolveOptions } from '../../src/membership/options.js';
import { retransmitLimit } from '../../src/membership/math.js';

const bytes = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);

function cluster(names: string[], layers: Record<string, StateConfig> = {}): Hand {
  const h = new Hand();
  for (const n of names) h.add(n, undefined, n, 'h', layers[n]);
  for (const n of names) h.apply(n, h.node(n).start(h.now));
  h.joinAll();
  return h;
}

/** Runs every timer in time order until `until`, delivering packets except those `drop` refuses. */
function runWith(h: Hand, until: number, drop: (p: Packet) => boolean): void {
  for (let k = 0; k < 200_000; k++) {
    let best = -1;
    for (let i = 0; i < h.timers.length; i++) {
      const t = h.timers[i]!;
      if (t.at <= until && (best < 0 || t.at < h.timers[best]!.at)) best = i;
    }
    if (best < 0) break;
    const [t] = h.timers.splice(best, 1);
    h.now = Math.max(h.now, t!.at);
    h.apply(t!.node, h.node(t!.node).handleTimer(t!.timer, h.now));
    h.deliverAll(drop);
  }
  h.now = Math.max(h.now, until);
}

const carries = (h: Hand, p: Packet, type: string): boolean => h.types(p).includes(type);

function valueOf(h: Hand, at: string, owner: string, key: string): Uint8Array | undefined {
  return h.node(at).stateEntry(owner, key)?.value;
}

describe('the state layer in the core', () => {
  it('spreads a small change to every node as a piggybacked delta, without a new incarnation', () => {
    const h = cluster(['a', 'b', 'c', 'd']);
    const inc = h.node('a').incarnation;
    const seen: Packet[] = [];
    h.apply('a', h.node('a').changeState([{ key: 'i:x', value: bytes(40) }], h.now));
    runWith(h, h.now + 5000, (p) => {
      if (carries(h, p, 'state-delta')) seen.push(p);
      return false;
    });
    for (const n of ['b', 'c', 'd']) expect(valueOf(h, n, 'a', 'i:x')).toEqual(bytes(40));
    expect(h.node('a').incarnation).toBe(inc);
    // It went by datagram only: nobody had to fetch it.
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((p) => p.channel === 'datagram')).toBe(true);
    const updates = h.events.filter((e) => e.event.type === 'state-update').map((e) => e.event as Extract<MembershipEvent, { type: 'state-update' }>);
    expect(updates.filter((u) => u.node === 'a' && u.changed.some((c) => c.key === 'i:x')).length).toBe(3);
  });

  it('sends a state change in a news round at once, at the owner and at each node that passes it on', () => {
    const h = cluster(['a', 'b', 'c', 'd']);
    runWith(h, h.now + 3000, () => false);
    const news = (n: string) => h.timers.filter((t) => t.node === n && t.timer.kind === 'gossip-news');
    expect(news('a')).toHaveLength(0);
    h.packets.length = 0;
    h.apply('a', h.node('a').changeState([{ key: 'i:x', value: bytes(20) }], h.now));
    expect(news('a').map((t) => t.at)).toEqual([h.now]); // due in this turn, not at the next tick
    h.fire('a', 'gossip-news');
    const sent = h.packets.filter((p) => p.from === 'a' && carries(h, p, 'state-delta'));
    expect(sent.length).toBeGreaterThan(0);
    const to = sent[0]!.to;
    expect(news(to)).toHaveLength(0);
    h.deliverAll(() => false);
    // The receiver applied it and queued it again: its own news round, due at once.
    expect(valueOf(h, to, 'a', 'i:x')).toEqual(bytes(20));
    expect(news(to).map((t) => t.at)).toEqual([h.now]);
  });

  it('announces a state too large to piggyback; peers fetch it over a stream, from whoever has it', () => {
    const h = cluster(['a', 'b', 'c', 'd', 'e']);
    const changes = Array.from({ length: 300 }, (_, i) => ({ key: `i:${i}`, value: bytes(100, i) }));
    const streams: Packet[] = [];
    h.apply('a', h.node('a').changeState(changes, h.now));
    runWith(h, h.now + 10_000, (p) => {
      if (p.channel === 'stream' && carries(h, p, 'state-delta')) streams.push(p);
      return false;
    });
    for (const n of ['b', 'c', 'd', 'e']) {
      expect(h.node(n).stateEntries('a')?.length).toBe(300);
      expect(valueOf(h, n, 'a', 'i:299')).toEqual(bytes(100, 299));
    }
    expect(h.node('a').counters.stateAnnounces).toBeGreaterThan(0);
    expect(streams.length).toBeGreaterThan(0);
    // Not every copy came from the owner.
    expect(new Set(streams.map((p) => p.from)).size).toBeGreaterThan(1);
  });

  it('passes on an announcement it cannot serve yet once, not again at every copy that comes in', () => {
    // A mass join: every owner's announcement reaches a node many times (from every relay) before
    // its fetch lands. Each copy re-queued would start the retransmit budget over, so that every
    // node kept relaying every unmet announcement and the copies kept coming.
    const h = cluster(['a', 'b', 'c']);
    runWith(h, h.now + 3000, () => false);
    const announcement = encodePacket([encodeMessage({ type: 'state-delta', deltas: [{ node: 'z', generation: 1, fromVersion: 9, toVersion: 9, reset: false, collectedVersion: 0, entries: [] }] })]);
    const aboutZ = (p: Packet): boolean => {
      const r = decodePacket(p.packet);
      return r.ok && r.messages.some((m) => m.type === 'state-delta' && m.deltas.some((d) => d.node === 'z'));
    };
    let relayed = 0;
    const copies = 10;
    for (let k = 0; k < copies; k++) {
      h.apply('b', h.node('b').handlePacket(h.addrOf('c'), announcement, 'datagram', h.now));
      // b's relays are counted and not delivered (a and c would relay them back, more copies).
      runWith(h, h.now + 150, (p) => {
        if (p.from !== 'b' || !aboutZ(p)) return false;
        relayed++;
        return true;
      });
    }
    expect(h.node('b').counters.stateGaps).toBe(copies);
    // Nobody holds z's state, so b still wants it: passed on its retransmit budget once (and at
    // most once more if the want ran out of tries and a later copy made a new one).
    const limit = retransmitLimit(resolveOptions({}).retransmitMult, 3);
    expect(relayed).toBeGreaterThan(0);
    expect(relayed).toBeLessThanOrEqual(2 * limit);
    runWith(h, h.now + 5000, (p) => {
      if (p.from === 'b' && aboutZ(p)) relayed++;
      return false;
    });
    expect(relayed).toBeLessThanOrEqual(2 * limit);
  });

  it('answers a digest about another owner from its replica: any holder serves, not only the owner', () => {
    const h = cluster(['a', 'b', 'c']);
    h.apply('a', h.node('a').changeState([{ key: 'k', value: bytes(10) }], h.now));
    runWith(h, h.now + 3000, () => false);
    const ask = encodePacket([encodeMessage({ type: 'state-digest', full: false, exchange: false, digests: [{ node: 'a', generation: 0, version: 0 }] })]);
    const effects = h.node('b').handlePacket(h.addrOf('c'), ask, 'datagram', h.now);
    const sends = effects.filter((e) => e.type === 'send');
    expect(sends.length).toBe(1);
    const send = sends[0]!;
    if (send.type !== 'send') throw new Error('unreachable');
    expect(send.to).toEqual(h.addrOf('c'));
    const decoded = decodePacket(send.packet);
    if (!decoded.ok) throw new Error(decoded.error.detail);
    const delta = decoded.messages.find((m): m is StateDeltaMessage => m.type === 'state-delta');
    expect(delta?.deltas.map((d) => [d.node, d.reset, d.entries.map((e) => e.key)])).toEqual([['a', true, ['k']]]);
  });

  it('answers a digest without piggybacked gossip: the retransmit budget of a change goes to random members, not to whoever is catching up', () => {
    const h = cluster(['a', 'b', 'c']);
    h.apply('a', h.node('a').changeState([{ key: 'k', value: bytes(10) }], h.now));
    runWith(h, h.now + 3000, () => false);
    // b has gossip of its own waiting when c's question comes.
    h.node('b').changeState([{ key: 'mine', value: bytes(8) }], h.now);
    const queued = h.node('b').queuedBroadcasts;
    expect(queued).toBeGreaterThan(0);
    const ask = encodePacket([encodeMessage({ type: 'state-digest', full: false, exchange: false, digests: [{ node: 'a', generation: 0, version: 0 }] })]);
    const sends = h.node('b').handlePacket(h.addrOf('c'), ask, 'datagram', h.now).filter((e) => e.type === 'send');
    expect(sends.length).toBe(1);
    const send = sends[0]!;
    if (send.type !== 'send') throw new Error('unreachable');
    const decoded = decodePacket(send.packet);
    if (!decoded.ok) throw new Error(decoded.error.detail);
    expect(decoded.messages.map((m) => (m.type === 'state-delta' ? `state-delta:${m.deltas.map((d) => d.node).join(',')}` : m.type))).toEqual(['state-delta:a']);
    expect(h.node('b').queuedBroadcasts).toBe(queued);
  });

  it('asks for a piece it missed when a later one does not follow on, and gets both', () => {
    const h = cluster(['a', 'b', 'c']);
    h.apply('a', h.node('a').changeState([{ key: 'k1', value: bytes(10, 1) }], h.now));
    // c misses every copy of the first change.
    runWith(h, h.now + 8000, (p) => p.to === 'c' && carries(h, p, 'state-delta'));
    expect(valueOf(h, 'c', 'a', 'k1')).toBeUndefined();
    expect(h.node('a').queuedBroadcasts).toBe(0);
    h.apply('a', h.node('a').changeState([{ key: 'k2', value: bytes(10, 2) }], h.now));
    runWith(h, h.now + 3000, () => false);
    expect(valueOf(h, 'c', 'a', 'k1')).toEqual(bytes(10, 1));
    expect(valueOf(h, 'c', 'a', 'k2')).toEqual(bytes(10, 2));
    expect(h.node('c').counters.stateGaps).toBeGreaterThan(0);
    expect(h.node('c').counters.stateRequestsSent).toBeGreaterThan(0);
  });

  it('finds a change a node missed entirely through differing summaries, and repairs it by a digest exchange', () => {
    const h = cluster(['a', 'b', 'c']);
    h.apply('a', h.node('a').changeState([{ key: 'k', value: bytes(10) }], h.now));
    runWith(h, h.now + 6000, (p) => p.to === 'c' && carries(h, p, 'state-delta'));
    expect(valueOf(h, 'c', 'a', 'k')).toBeUndefined();
    expect(h.node('c').stateSummary).not.toBe(h.node('b').stateSummary);
    runWith(h, h.now + 10_000, () => false);
    expect(valueOf(h, 'c', 'a', 'k')).toEqual(bytes(10));
    const exchanges = ['a', 'b', 'c'].reduce((n, x) => n + h.node(x).counters.stateExchanges, 0);
    expect(exchanges).toBeGreaterThan(0);
    expect(new Set(['a', 'b', 'c'].map((x) => h.node(x).stateSummary)).size).toBe(1);
  });

  it('spreads a delete as a tombstone every replica applies, reported as a deleted entry', () => {
    const h = cluster(['a', 'b', 'c']);
    h.apply('a', h.node('a').changeState([{ key: 'x', value: bytes(8) }, { key: 'y', value: bytes(8, 2) }], h.now));
    runWith(h, h.now + 4000, () => false);
    expect(valueOf(h, 'b', 'a', 'x')).toEqual(bytes(8));
    h.events.length = 0;
    h.apply('a', h.node('a').changeState([{ key: 'x', value: null }], h.now));
    runWith(h, h.now + 4000, () => false);
    for (const n of ['b', 'c']) {
      expect(h.node(n).stateEntries('a')?.map((e) => e.key)).toEqual(['y']);
      const u = h.events.find((e) => e.node === n && e.event.type === 'state-update')?.event as Extract<MembershipEvent, { type: 'state-update' }> | undefined;
      expect(u?.changed.map((c) => [c.key, c.deleted])).toEqual([['x', true]]);
    }
  });

  it('replaces an owner\'s state everywhere when it restarts at a higher generation', () => {
    const h = cluster(['a', 'b', 'c'], { a: { generation: 1 } });
    h.apply('a', h.node('a').changeState([{ key: 'x', value: bytes(8) }, { key: 'y', value: bytes(8, 2) }], h.now));
    runWith(h, h.now + 4000, () => false);
    expect(h.node('b').stateEntries('a')?.length).toBe(2);
    // A new process under a's name and address that kept only y.
    const old = h.node('a');
    h.clearTimers('a');
    const fresh = new Membership({
      name: 'a',
      addr: old.addr,
      incarnation: old.incarnation + 1,
      options: resolveOptions({ streamFallbackProbe: false }),
      random: new SeededRandom(99),
      stateLayer: { generation: 2, entries: [{ key: 'y', value: bytes(8, 3) }] },
    });
    h.nodes.set('a', fresh);
    h.apply('a', fresh.start(h.now));
    h.apply('a', fresh.join([h.addrOf('b')], h.now));
    runWith(h, h.now + 8000, () => false);
    for (const n of ['b', 'c']) {
      expect(h.node(n).stateDigestOf('a')?.generation).toBe(2);
      expect(h.node(n).stateEntries('a')?.map((e) => [e.key, [...e.value]])).toEqual([['y', [...bytes(8, 3)]]]);
    }
  });

  it('refuses a change over a limit, naming it, and changes nothing', () => {
    const limits = { maxEntries: 2, maxEntryBytes: 64, maxNodeBytes: 100 };
    const h = cluster(['a', 'b'], { a: { limits } });
    const a = h.node('a');
    h.apply('a', a.changeState([{ key: 'k1', value: bytes(10) }, { key: 'k2', value: bytes(10) }], h.now));
    expect(() => a.changeState([{ key: 'k3', value: bytes(10) }], h.now)).toThrow(/would make 3 entries, over the state limit maxEntries = 2/);
    expect(() => a.changeState([{ key: 'k1', value: bytes(70) }], h.now)).toThrow(/over the state limit maxEntryBytes = 64/);
    expect(() => a.changeState([{ key: 'k1', value: bytes(60) }, { key: 'k2', value: bytes(60) }], h.now)).toThrow(StateLimitError);
    expect(a.stateDigestOf('a')?.version).toBe(2);
    expect(a.checkStateChanges([{ key: 'k1', value: null }, { key: 'k3', value: bytes(10) }])).toBeNull();
    expect(a.checkStateChanges([{ key: 'k3', value: bytes(10) }])?.limit).toBe('maxEntries');
  });

  it('refuses a packet of the previous protocol (version 1) as old-protocol, counted', () => {
    const h = cluster(['a', 'b']);
    const packet = encodePacket([encodeMessage({ type: 'ack', seq: 1, digest: 1 })]);
    packet[0] = 1;
    const effects = h.node('a').handlePacket(h.addrOf('b'), packet, 'datagram', h.now);
    expect(h.node('a').counters['dropped.old-protocol']).toBe(1);
    expect(effects).toEqual([{ type: 'report', report: expect.objectContaining({ kind: 'packet-dropped', reason: 'old-protocol', detail: expect.stringMatching(/upgrade that node/) }) }]);
  });
});

describe('state-delta bytes by entry kind', () => {
  const kinds = ['instance', 'status', 'checks', 'tags', 'other', 'header'] as const;
  const deltaBytes = (h: Hand, n: string): Record<string, number> => {
    const c = h.node(n).counters as unknown as Record<string, number>;
    return Object.fromEntries(kinds.map((k) => [k, c[`stateDeltaBytes.${k}`] as number]));
  };

  it('counts every state-delta sent, its entries by key prefix and the rest as header, summing to the bytes sent', () => {
    const h = cluster(['a', 'b', 'c']);
    const sentDeltas = new Map<string, number>();
    const counted = new Set<Uint8Array>();
    h.apply('a', h.node('a').changeState([{ key: 's:x', value: bytes(2) }, { key: 'zz', value: bytes(5) }], h.now));
    runWith(h, h.now + 5000, (p) => {
      if (carries(h, p, 'state-delta') && !counted.has(p.packet)) {
        counted.add(p.packet);
        // The whole state-delta message within the packet: its bytes, as the counters should sum them.
        const decoded = decodePacket(p.packet);
        if (decoded.ok) {
          for (const m of decoded.messages) if (m.type === 'state-delta') sentDeltas.set(p.from, (sentDeltas.get(p.from) ?? 0) + encodeMessage(m).length);
        }
      }
      return false;
    });
    expect(valueOf(h, 'c', 'a', 's:x')).toEqual(bytes(2));
    for (const n of ['a', 'b', 'c']) {
      const d = deltaBytes(h, n);
      expect(Object.values(d).reduce((x, y) => x + y, 0)).toBe(sentDeltas.get(n) ?? 0);
      expect(d['instance']).toBe(0);
      expect(d['tags']).toBe(0);
    }
    const a = deltaBytes(h, 'a');
    expect(a['status']! % 5).toBe(0); // 's:x' (3) + 2 value bytes, once per sending
    expect(a['status']).toBeGreaterThan(0);
    expect(a['other']).toBe((a['status']! / 5) * 7); // 'zz' (2) + 5, in the same messages
    expect(a['header']).toBeGreaterThan(0);
  });

  it('counts a tag change as tags', () => {
    const h = cluster(['a', 'b']);
    h.apply('a', h.node('a').setLocalState({ tags: { role: 'db' }, payload: null }, h.now));
    runWith(h, h.now + 5000, () => false);
    expect(h.node('b').member('a')?.state.tags).toEqual({ role: 'db' });
    const a = deltaBytes(h, 'a');
    expect(a['tags']).toBeGreaterThan(0);
    expect((a['status'] ?? 0) + (a['instance'] ?? 0) + (a['checks'] ?? 0) + (a['other'] ?? 0)).toBe(0);
  });
});
