import { describe, expect, it } from 'vitest';
import { Hand, type Packet } from './harness.js';
import { encodeMessage, encodePacket, encodePushPullPacket, PROTOCOL_VERSION } from '../../src/wire/codec.js';
import type { MemberRecord, MemberStatus, Message } from '../../src/wire/messages.js';
import { StateTooLargeError, NotRunningError } from '../../src/errors.js';
import { Membership } from '../../src/membership/membership.js';
import { IdentityRegistry } from '../../src/membership/identity-registry.js';
import { resolveOptions } from '../../src/membership/options.js';
import { SeededRandom } from '../../src/util/random.js';

const packet = (...msgs: Message[]): Uint8Array => encodePacket(msgs.map(encodeMessage));

/** A started cluster of the given names, joined through push-pull; with `heard`, run a while (every member has answered every other). */
function cluster(names: string[], overrides = {}, heard = false): Hand {
  const h = new Hand(overrides);
  for (const n of names) h.add(n);
  for (const n of names) h.apply(n, h.node(n).start(h.now));
  h.joinAll();
  if (heard) h.hearEveryone();
  return h;
}

/** Runs a's probe of whoever is next, returning the target's name. */
function probeTarget(h: Hand, a: string): string {
  h.fire(a, 'probe');
  const ping = h.packets.find((p) => p.from === a && h.types(p).includes('ping'));
  if (ping === undefined) throw new Error('no ping');
  return ping.to;
}

describe('membership: join and full-state exchange', () => {
  it('joins through a seed and lists every node alive on both sides', () => {
    const h = cluster(['a', 'b', 'c']);
    for (const n of ['a', 'b', 'c']) {
      const view = h.node(n).members();
      expect(view.map((m) => m.name).sort()).toEqual(['a', 'b', 'c']);
      expect(view.every((m) => m.status === 'alive')).toBe(true);
    }
    expect(h.eventsOf('b', 'push-pull-complete')).toHaveLength(2);
  });

  it('emits member-join once per new member', () => {
    const h = cluster(['a', 'b']);
    expect(h.eventsOf('a', 'member-join')).toHaveLength(1);
    expect(h.eventsOf('b', 'member-join')).toHaveLength(1);
  });

  it('answers a join with its full state over the stream', () => {
    const h = new Hand();
    h.add('a');
    h.add('b');
    h.apply('b', h.node('b').join([h.addrOf('a')], 0));
    expect(h.packets).toHaveLength(1);
    expect(h.packets[0]?.channel).toBe('stream');
    h.deliverAll();
    expect(h.node('b').statusOf('a')).toBe('alive');
    expect(h.node('a').statusOf('b')).toBe('alive');
  });

  it('drops a push-pull that arrives as a datagram and counts it', () => {
    const h = cluster(['a', 'b']);
    const fake = packet({ type: 'push-pull', join: false, reply: false, source: 'x', members: [] });
    h.node('a').handlePacket(h.addrOf('b'), fake, 'datagram', 0);
    expect(h.node('a').counters['dropped.push-pull-over-datagram']).toBe(1);
  });

  it('drops and counts garbage instead of throwing', () => {
    const h = cluster(['a', 'b']);
    const effects = h.node('a').handlePacket(h.addrOf('b'), new Uint8Array([PROTOCOL_VERSION, 2, 3, 4]), 'datagram', 0);
    // Nothing sent, scheduled or emitted: only a report, for the runtime's log, of what was dropped and why.
    expect(effects).toEqual([
      { type: 'report', report: { kind: 'packet-dropped', from: h.addrOf('b'), channel: 'datagram', bytes: 4, reason: 'malformed', detail: expect.any(String) } },
    ]);
    const c = h.node('a').counters;
    const dropped = Object.entries(c).filter(([k]) => k.startsWith('dropped.')).reduce((s, [, v]) => s + v, 0);
    expect(dropped).toBe(1);
  });
});

describe('membership: the probe cycle', () => {
  it('pings the next member and counts a success when it acks', () => {
    const h = cluster(['a', 'b']);
    expect(probeTarget(h, 'a')).toBe('b');
    h.deliverAll();
    h.fire('a', 'probe-end');
    expect(h.node('a').statusOf('b')).toBe('alive');
    expect(h.node('a').counters.probeFailures).toBe(0);
    expect(h.node('a').healthScore).toBe(0);
  });

  it('probes every member in round-robin, each probe right after the last', () => {
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    const h = cluster(names, {}, true);
    const seen: string[] = [probeTarget(h, 'a')];
    for (let i = 0; i < 19; i++) {
      h.deliverAll();
      h.fire('a', 'probe-end'); // ends this probe and sends the next ping at once
      const ping = h.packets.find((p) => p.from === 'a' && h.types(p).includes('ping'));
      seen.push(ping?.to ?? 'none');
    }
    // 20 probes of 5 members, one round each 5 (the first may have started mid-round): 3 to 5 each.
    for (const m of ['b', 'c', 'd', 'e', 'f']) {
      const n = seen.filter((x) => x === m).length;
      expect(n, `${m} in ${seen.join(' ')}`).toBeGreaterThanOrEqual(3);
      expect(n, `${m} in ${seen.join(' ')}`).toBeLessThanOrEqual(5);
    }
  });

  it('asks k members to probe indirectly after a missed ack and takes their forwarded ack', () => {
    const h = cluster(['a', 'b', 'c', 'd'], { indirectChecks: 2 });
    const target = probeTarget(h, 'a');
    // Lose a's direct ping to the target.
    h.packets.length = 0;
    h.fire('a', 'probe-timeout');
    const reqs = h.packets.filter((p) => h.types(p).includes('ping-req'));
    expect(reqs).toHaveLength(2);
    expect(reqs.every((p) => p.to !== target && p.to !== 'a')).toBe(true);
    h.deliverAll();
    h.fire('a', 'probe-end');
    expect(h.node('a').statusOf(target)).toBe('alive');
    expect(h.node('a').counters.probeFailures).toBe(0);
  });

  it('suspects a member that answers neither directly nor indirectly, and a relay nacks', () => {
    const h = cluster(['a', 'b', 'c', 'd'], { indirectChecks: 2 }, true);
    const target = probeTarget(h, 'a');
    const toTarget = (p: Packet): boolean => p.to === target;
    h.deliverAll(toTarget);
    h.fire('a', 'probe-timeout');
    h.deliverAll(toTarget);
    // Both other members were asked (indirectChecks 2 of 2); they time out and nack.
    const relays = ['b', 'c', 'd'].filter((n) => n !== target);
    for (const relay of relays) h.fire(relay, 'relay-timeout');
    const nacks = h.packets.filter((p) => p.to === 'a' && h.types(p).includes('nack'));
    expect(nacks.map((p) => p.from).sort()).toEqual(relays);
    h.deliverAll(toTarget);
    h.fire('a', 'probe-end');
    expect(h.node('a').statusOf(target)).toBe('suspect');
    // Nacks arrived from both relays: the failure is the target's, not ours.
    expect(h.node('a').healthScore).toBe(0);
    expect(h.eventsOf('a', 'member-suspect')).toHaveLength(1);
  });

  it('raises its own health score when the expected nacks do not arrive (Lifeguard)', () => {
    const h = cluster(['a', 'b', 'c', 'd'], { indirectChecks: 2 }, true);
    probeTarget(h, 'a');
    h.packets.length = 0; // everything a sends is lost: a is the slow one
    h.fire('a', 'probe-timeout');
    h.packets.length = 0;
    h.fire('a', 'probe-end');
    h.fire('a', 'nack-count'); // the nacks had their time: none came
    expect(h.node('a').healthScore).toBe(2);
  });

  it('carries the suspicion when it probes a suspect (buddy rule), and the suspect refutes at once', () => {
    const h = cluster(['a', 'b']);
    probeTarget(h, 'a');
    h.packets.length = 0;
    h.fire('a', 'probe-timeout');
    h.packets.length = 0;
    h.fire('a', 'probe-end'); // suspects b and starts the next probe of b
    expect(h.node('a').statusOf('b')).toBe('suspect');
    const ping = h.packets.find((p) => p.from === 'a' && p.to === 'b' && h.types(p).includes('ping'));
    expect(ping).toBeDefined();
    expect(h.types(ping as Packet)).toContain('suspect');
    h.deliverAll();
    expect(h.node('b').incarnation).toBe(1);
    expect(h.node('a').statusOf('b')).toBe('alive');
    expect(h.node('a').member('b')?.incarnation).toBe(1);
    expect(h.eventsOf('b', 'self-refute')).toHaveLength(1);
    expect(h.eventsOf('a', 'member-alive')).toHaveLength(1);
  });
});

describe('membership: suspicion, death and refutation', () => {
  function suspectB(h: Hand): void {
    h.apply('a', h.node('a').handlePacket(h.addrOf('c'), packet({ type: 'suspect', node: 'b', incarnation: 0, from: 'c' }), 'datagram', h.now));
  }

  it('declares a suspect dead when its suspicion expires', () => {
    const h = cluster(['a', 'b', 'c']);
    suspectB(h);
    expect(h.node('a').statusOf('b')).toBe('suspect');
    h.fire('a', 'suspect-timeout');
    expect(h.node('a').statusOf('b')).toBe('dead');
    expect(h.eventsOf('a', 'member-dead')).toHaveLength(1);
  });

  it('defers a death verdict whose timer fires late (this node stalled) by one probe timeout, so queued refutations are read first', () => {
    const h = cluster(['a', 'b', 'c']);
    suspectB(h);
    const due = h.timers.find((t) => t.node === 'a' && t.timer.kind === 'suspect-timeout')?.at ?? 0;
    h.now = due + 2000; // a was paused past the deadline: the timer fires 2 s late
    h.fire('a', 'suspect-timeout');
    expect(h.node('a').statusOf('b')).toBe('suspect');
    expect(h.node('a').counters.suspicionsDeferredAfterStall).toBe(1);
    // What arrived during the stall is read now: b's refutation wins.
    h.apply('a', h.node('a').handlePacket(h.addrOf('b'), packet({ type: 'alive', node: 'b', addr: h.addrOf('b'), incarnation: 1, state: { tags: {}, payload: null } }), 'datagram', h.now));
    h.fire('a', 'suspect-timeout');
    expect(h.node('a').statusOf('b')).toBe('alive');
    expect(h.eventsOf('a', 'member-dead')).toHaveLength(0);
  });

  it('declares the death once the deferred timer fires on time and nothing refuted', () => {
    const h = cluster(['a', 'b', 'c']);
    suspectB(h);
    const due = h.timers.find((t) => t.node === 'a' && t.timer.kind === 'suspect-timeout')?.at ?? 0;
    h.now = due + 2000;
    h.fire('a', 'suspect-timeout');
    expect(h.node('a').statusOf('b')).toBe('suspect');
    h.fire('a', 'suspect-timeout'); // on time now
    expect(h.node('a').statusOf('b')).toBe('dead');
    expect(h.eventsOf('a', 'member-dead')).toHaveLength(1);
  });

  it('ignores a stale suspicion timer after the suspect refuted', () => {
    const h = cluster(['a', 'b', 'c']);
    suspectB(h);
    h.apply('a', h.node('a').handlePacket(h.addrOf('b'), packet({ type: 'alive', node: 'b', addr: h.addrOf('b'), incarnation: 1, state: { tags: {}, payload: null } }), 'datagram', h.now));
    expect(h.node('a').statusOf('b')).toBe('alive');
    h.fire('a', 'suspect-timeout');
    expect(h.node('a').statusOf('b')).toBe('alive');
  });

  it('shortens the suspicion with independent confirmations', () => {
    const h = cluster(['a', 'b', 'c', 'd', 'e', 'f']); // suspicionMult 4 → 2 confirmations expected
    suspectB(h);
    const first = h.timers.filter((t) => t.node === 'a' && t.timer.kind === 'suspect-timeout');
    expect(first).toHaveLength(1);
    const full = (first[0]?.at ?? 0) - h.now;
    for (const from of ['d', 'e']) {
      h.apply('a', h.node('a').handlePacket(h.addrOf(from), packet({ type: 'suspect', node: 'b', incarnation: 0, from }), 'datagram', h.now));
    }
    const timers = h.timers.filter((t) => t.node === 'a' && t.timer.kind === 'suspect-timeout');
    const last = timers[timers.length - 1];
    expect((last?.at ?? 0) - h.now).toBeLessThan(full);
    // The minimum is suspicionMult × probe interval here; the maximum six times that.
    expect(full).toBe(6 * 4 * 1000);
    expect((last?.at ?? 0) - h.now).toBe(4 * 1000);
    expect(h.node('a').counters.confirmations).toBe(2);
  });

  it('counts a repeated confirmation from the same member once', () => {
    const h = cluster(['a', 'b', 'c', 'd', 'e', 'f']);
    suspectB(h);
    for (let i = 0; i < 3; i++) {
      h.apply('a', h.node('a').handlePacket(h.addrOf('d'), packet({ type: 'suspect', node: 'b', incarnation: 0, from: 'd' }), 'datagram', h.now));
    }
    expect(h.node('a').counters.confirmations).toBe(1);
  });

  it('refutes being declared dead with a higher incarnation', () => {
    const h = cluster(['a', 'b']);
    h.apply('b', h.node('b').handlePacket(h.addrOf('a'), packet({ type: 'dead', node: 'b', incarnation: 3, from: 'a' }), 'datagram', h.now));
    expect(h.node('b').incarnation).toBe(4);
    expect(h.eventsOf('b', 'self-refute')).toHaveLength(1);
  });

  it('ignores accusations about an older incarnation of itself', () => {
    const h = cluster(['a', 'b']);
    h.apply('b', h.node('b').setLocalState({ tags: { v: '2' }, payload: null }, h.now));
    h.apply('b', h.node('b').handlePacket(h.addrOf('a'), packet({ type: 'suspect', node: 'b', incarnation: 0, from: 'a' }), 'datagram', h.now));
    expect(h.node('b').incarnation).toBe(1);
  });
});

describe('membership: precedence of updates', () => {
  const state = { tags: {}, payload: null };
  const cases: { name: string; msgs: Message[]; status: string; incarnation: number }[] = [
    { name: 'alive(2) beats alive(1)', msgs: [{ type: 'alive', node: 'x', addr: { host: 'h', port: 99 }, incarnation: 2, state }], status: 'alive', incarnation: 2 },
    { name: 'suspect(1) beats alive(1)', msgs: [{ type: 'suspect', node: 'x', incarnation: 1, from: 'z' }], status: 'suspect', incarnation: 1 },
    { name: 'suspect(0) loses to alive(1)', msgs: [{ type: 'suspect', node: 'x', incarnation: 0, from: 'z' }], status: 'alive', incarnation: 1 },
    { name: 'alive(1) loses to suspect(1)', msgs: [{ type: 'suspect', node: 'x', incarnation: 1, from: 'z' }, { type: 'alive', node: 'x', addr: { host: 'h', port: 99 }, incarnation: 1, state }], status: 'suspect', incarnation: 1 },
    { name: 'alive(2) beats suspect(1)', msgs: [{ type: 'suspect', node: 'x', incarnation: 1, from: 'z' }, { type: 'alive', node: 'x', addr: { host: 'h', port: 99 }, incarnation: 2, state }], status: 'alive', incarnation: 2 },
    { name: 'dead(1) beats alive(1)', msgs: [{ type: 'dead', node: 'x', incarnation: 1, from: 'z' }], status: 'dead', incarnation: 1 },
    { name: 'dead(0) loses to alive(1)', msgs: [{ type: 'dead', node: 'x', incarnation: 0, from: 'z' }], status: 'alive', incarnation: 1 },
    { name: 'alive(1) loses to dead(1)', msgs: [{ type: 'dead', node: 'x', incarnation: 1, from: 'z' }, { type: 'alive', node: 'x', addr: { host: 'h', port: 99 }, incarnation: 1, state }], status: 'dead', incarnation: 1 },
    { name: 'suspect(1) loses to dead(1)', msgs: [{ type: 'dead', node: 'x', incarnation: 1, from: 'z' }, { type: 'suspect', node: 'x', incarnation: 1, from: 'z' }], status: 'dead', incarnation: 1 },
    { name: 'alive(2) revives dead(1)', msgs: [{ type: 'dead', node: 'x', incarnation: 1, from: 'z' }, { type: 'alive', node: 'x', addr: { host: 'h', port: 99 }, incarnation: 2, state }], status: 'alive', incarnation: 2 },
    { name: 'left(1) is left, not dead', msgs: [{ type: 'dead', node: 'x', incarnation: 1, from: 'x' }], status: 'left', incarnation: 1 },
    { name: 'left(1) turns dead(1) into left', msgs: [{ type: 'dead', node: 'x', incarnation: 1, from: 'z' }, { type: 'dead', node: 'x', incarnation: 1, from: 'x' }], status: 'left', incarnation: 1 },
    { name: 'dead(1) does not turn left(1) into dead', msgs: [{ type: 'dead', node: 'x', incarnation: 1, from: 'x' }, { type: 'dead', node: 'x', incarnation: 1, from: 'z' }], status: 'left', incarnation: 1 },
    { name: 'alive(1) does not revive left(1)', msgs: [{ type: 'dead', node: 'x', incarnation: 1, from: 'x' }, { type: 'alive', node: 'x', addr: { host: 'h', port: 99 }, incarnation: 1, state }], status: 'left', incarnation: 1 },
  ];

  it.each(cases)('$name', ({ msgs, status, incarnation }) => {
    const h = new Hand();
    const a = h.add('a');
    a.handlePacket({ host: 'h', port: 99 }, packet({ type: 'alive', node: 'x', addr: { host: 'h', port: 99 }, incarnation: 1, state }), 'datagram', 0);
    for (const m of msgs) a.handlePacket({ host: 'h', port: 98 }, packet(m), 'datagram', 1);
    expect(a.statusOf('x')).toBe(status);
    expect(a.member('x')?.incarnation).toBe(incarnation);
  });

  it('ignores suspect and dead about members it does not know', () => {
    const h = new Hand();
    const a = h.add('a');
    a.handlePacket({ host: 'h', port: 9 }, packet({ type: 'suspect', node: 'ghost', incarnation: 5, from: 'z' }, { type: 'dead', node: 'ghost2', incarnation: 5, from: 'z' }), 'datagram', 0);
    expect(a.members()).toHaveLength(1);
  });
});

describe('membership: graceful leave', () => {
  it('spreads left, never dead, and reports when the news is out', () => {
    const h = cluster(['a', 'b', 'c']);
    h.apply('b', h.node('b').leave(h.now));
    h.deliverAll();
    for (let i = 0; i < 20 && h.eventsOf('b', 'leave-disseminated').length === 0; i++) {
      h.fire('b', 'gossip');
      h.deliverAll();
    }
    expect(h.eventsOf('b', 'leave-disseminated')).toHaveLength(1);
    expect(h.node('a').statusOf('b')).toBe('left');
    expect(h.node('c').statusOf('b')).toBe('left');
    expect(h.eventsOf('a', 'member-dead')).toHaveLength(0);
  });

  it('does not refute its own leave and refuses further state changes', () => {
    const h = cluster(['a', 'b']);
    h.apply('b', h.node('b').leave(h.now));
    h.node('b').handlePacket(h.addrOf('a'), packet({ type: 'dead', node: 'b', incarnation: 0, from: 'a' }), 'datagram', h.now);
    expect(h.node('b').incarnation).toBe(0);
    expect(() => h.node('b').setLocalState({ tags: {}, payload: null }, h.now)).toThrow(NotRunningError);
  });

  it('reports the leave disseminated at once when alone', () => {
    const h = new Hand();
    const a = h.add('a');
    h.apply('a', a.leave(0));
    expect(h.eventsOf('a', 'leave-disseminated')).toHaveLength(1);
  });
});

describe('membership: state updates', () => {
  it('spreads a new state with a higher incarnation', () => {
    const h = cluster(['a', 'b']);
    h.apply('a', h.node('a').setLocalState({ tags: { role: 'db' }, payload: new Uint8Array([1, 2]) }, h.now));
    expect(h.node('a').incarnation).toBe(1);
    h.fire('a', 'gossip');
    h.deliverAll();
    const seen = h.node('b').member('a');
    expect(seen?.incarnation).toBe(1);
    expect(seen?.state.tags).toEqual({ role: 'db' });
    expect([...(seen?.state.payload ?? [])]).toEqual([1, 2]);
    expect(h.eventsOf('b', 'member-update')).toHaveLength(1);
  });

  it('refuses a state that does not fit one datagram, naming size and limit', () => {
    const h = cluster(['a']);
    const big = { tags: { blob: 'x'.repeat(2000) }, payload: null };
    expect(() => h.node('a').setLocalState(big, 0)).toThrow(StateTooLargeError);
    expect(() => h.node('a').setLocalState(big, 0)).toThrow(/encodes to \d+ bytes .* fit \d+ bytes/);
  });

  it('outbids an alive about itself that is not its own', () => {
    const h = cluster(['a', 'b']);
    h.node('a').handlePacket(h.addrOf('b'), packet({ type: 'alive', node: 'a', addr: { host: 'evil', port: 1 }, incarnation: 10, state: { tags: {}, payload: null } }), 'datagram', 0);
    expect(h.node('a').incarnation).toBe(11);
  });
});

describe('membership: partition heal and reaping', () => {
  it('contacts a dead member on the reconnect timer and merges back', () => {
    const h = cluster(['a', 'b']);
    // a and b each declare the other dead (as after a long partition).
    h.node('a').handlePacket(h.addrOf('b'), packet({ type: 'dead', node: 'b', incarnation: 0, from: 'x' }), 'datagram', h.now);
    h.node('b').handlePacket(h.addrOf('a'), packet({ type: 'dead', node: 'a', incarnation: 0, from: 'x' }), 'datagram', h.now);
    h.now += 60_000; // long past gossip-to-the-dead
    expect(h.node('a').statusOf('b')).toBe('dead');
    h.fire('a', 'reconnect');
    h.deliverAll();
    expect(h.node('a').statusOf('b')).toBe('alive');
    expect(h.node('b').statusOf('a')).toBe('alive');
  });

  it('reaps a dead member after the reconnect window and a left one after the tombstone window', () => {
    const h = cluster(['a', 'b', 'c'], { reconnectTimeoutMs: 10_000, tombstoneTimeoutMs: 20_000 });
    const a = h.node('a');
    a.handlePacket(h.addrOf('b'), packet({ type: 'dead', node: 'b', incarnation: 0, from: 'x' }), 'datagram', h.now);
    a.handlePacket(h.addrOf('c'), packet({ type: 'dead', node: 'c', incarnation: 0, from: 'c' }), 'datagram', h.now);
    h.now += 15_000;
    h.apply('a', a.handleTimer({ kind: 'reap' }, h.now));
    expect(a.statusOf('b')).toBeUndefined();
    expect(a.statusOf('c')).toBe('left');
    h.now += 10_000;
    h.apply('a', a.handleTimer({ kind: 'reap' }, h.now));
    expect(a.statusOf('c')).toBeUndefined();
    expect(h.eventsOf('a', 'member-reap')).toHaveLength(2);
  });
});

describe('membership: restore', () => {
  it('seeds a table from records without gossip or events', () => {
    const m = new Membership({ name: 'a', addr: { host: 'h', port: 1 }, options: resolveOptions(), random: new SeededRandom(1) });
    const state = { tags: {}, payload: null };
    m.restore(
      [
        { node: 'b', addr: { host: 'h', port: 2 }, incarnation: 3, status: 'alive', state },
        { node: 'c', addr: { host: 'h', port: 3 }, incarnation: 1, status: 'left', state },
        { node: 'a', addr: { host: 'h', port: 1 }, incarnation: 9, status: 'dead', state },
      ],
      0,
    );
    expect(m.statusOf('b')).toBe('alive');
    expect(m.statusOf('c')).toBe('left');
    expect(m.statusOf('a')).toBe('alive');
    expect(m.incarnation).toBe(0);
    expect(m.queuedBroadcasts).toBe(0);
  });

  it('restores the same tables into instances sharing an identity registry as into ones with their own', () => {
    const state = { tags: { role: 'x' }, payload: null };
    const records: MemberRecord[] = Array.from({ length: 200 }, (_, i) => ({
      node: `n${i}`,
      addr: { host: 'h', port: i + 1 },
      incarnation: i % 3,
      status: (['alive', 'suspect', 'dead', 'left'] as const)[i % 4] as MemberStatus,
      state,
    }));
    // Later records about the same members: some newer (they win), some older (ignored).
    const updates: MemberRecord[] = records.slice(0, 60).map((r, i) => ({ ...r, incarnation: i % 2 === 0 ? r.incarnation + 1 : 0, status: 'alive' }));
    const make = (name: string, identities?: IdentityRegistry): Membership => {
      const config = { name, addr: { host: 'h', port: 9999 }, options: resolveOptions(), random: new SeededRandom(5) };
      return new Membership(identities === undefined ? config : { ...config, identities });
    };
    const registry = new IdentityRegistry();
    for (const name of ['n7', 'n8', 'self']) {
      const own = make(name);
      const shared = make(name, registry);
      for (const m of [own, shared]) {
        m.restore(records, 10);
        m.restore(updates, 20);
      }
      expect(shared.members()).toEqual(own.members());
      expect(shared.records()).toEqual(own.records());
      expect(shared.digest).toBe(own.digest);
    }
  });
});

describe('membership: digest-triggered anti-entropy', () => {
  it('gives two views with the same alive members and incarnations the same digest', () => {
    const h = cluster(['a', 'b', 'c']);
    const digests = ['a', 'b', 'c'].map((n) => h.node(n).digest);
    expect(new Set(digests).size).toBe(1);
    h.apply('c', h.node('c').setLocalState({ tags: { v: '1' }, payload: null }, h.now));
    expect(h.node('c').digest).not.toBe(h.node('a').digest);
  });

  it('exchanges full state with a probed member whose digest differs once its own view has settled', () => {
    const h = cluster(['a', 'b']);
    // b learns of x; a never hears of it.
    const state = { tags: {}, payload: null };
    h.node('b').handlePacket({ host: 'h', port: 99 }, packet({ type: 'alive', node: 'x', addr: { host: 'h', port: 99 }, incarnation: 1, state }), 'datagram', h.now);
    h.now += 60_000; // long after both views last changed
    probeTarget(h, 'a');
    h.deliverAll((p) => p.to === 'h'); // b's acks go to a; nothing to x
    expect(h.node('a').counters.digestSyncs).toBe(1);
    expect(h.node('a').statusOf('x')).toBe('alive');
  });

  it('does not exchange state while its own view is still changing', () => {
    const h = cluster(['a', 'b']);
    const state = { tags: {}, payload: null };
    h.now += 60_000;
    h.node('b').handlePacket({ host: 'h', port: 99 }, packet({ type: 'alive', node: 'x', addr: { host: 'h', port: 99 }, incarnation: 1, state }), 'datagram', h.now);
    h.apply('a', h.node('a').setLocalState({ tags: { v: '2' }, payload: null }, h.now)); // a's view just changed
    expect(probeTarget(h, 'a')).toBe('b');
    h.deliverAll();
    h.fire('a', 'probe-end');
    expect(h.node('a').counters.probeFailures).toBe(0); // b's ack, with its differing digest, arrived
    expect(h.node('a').counters.digestSyncs).toBe(0);
  });
});

describe('membership: stale accusations', () => {
  it('answers a suspicion about an older incarnation of itself with its current alive', () => {
    const h = cluster(['a', 'b']);
    h.apply('b', h.node('b').setLocalState({ tags: { v: '2' }, payload: null }, h.now)); // b is at 1
    // a missed that and still suspects b@0: its buddy-rule ping carries the stale suspicion.
    h.node('a').handlePacket(h.addrOf('b'), packet({ type: 'suspect', node: 'b', incarnation: 0, from: 'c' }), 'datagram', h.now);
    h.packets.length = 0;
    h.apply('b', h.node('b').handlePacket(h.addrOf('a'), packet({ type: 'suspect', node: 'b', incarnation: 0, from: 'a' }), 'datagram', h.now));
    expect(h.node('b').incarnation).toBe(1); // no new refutation needed
    expect(h.node('b').counters.staleAccusationsAnswered).toBe(1);
    h.deliverAll();
    expect(h.node('a').statusOf('b')).toBe('alive');
    expect(h.node('a').member('b')?.incarnation).toBe(1);
  });
});

describe('membership: members heard from', () => {
  it("a joiner counts the alive members of its own join's answer as heard, and a stranger's push-pull adds them unheard", () => {
    const h = new Hand();
    for (const n of ['a', 'b', 'c', 'd']) h.add(n);
    for (const n of ['a', 'b', 'c']) h.apply(n, h.node(n).start(h.now));
    h.apply('b', h.node('b').join([h.addrOf('a')], h.now));
    h.apply('c', h.node('c').join([h.addrOf('a')], h.now));
    h.deliverAll();
    const d = h.node('d');
    h.apply('d', d.start(h.now));
    h.apply('d', d.join([h.addrOf('a')], h.now));
    h.deliverAll();
    expect(['a', 'b', 'c'].map((x) => d.hasHeard(x))).toEqual([true, true, true]);
    // A push-pull d did not ask for (mallory's) brings members d has never heard from.
    const records: MemberRecord[] = [{ node: 'ghost', addr: { host: 'h', port: 99 }, incarnation: 1, status: 'alive', state: { tags: {}, payload: null } }];
    h.apply('d', d.handlePacket({ host: 'evil', port: 1 }, encodePushPullPacket({ type: 'push-pull', join: false, reply: false, source: 'mallory', members: records }), 'stream', h.now));
    expect(d.statusOf('ghost')).toBe('alive');
    expect(d.hasHeard('ghost')).toBe(false);
    // A ping naming ghost as its source, from another address than ghost's, proves nothing.
    h.apply('d', d.handlePacket({ host: 'evil', port: 1 }, encodePacket([encodeMessage({ type: 'ping', seq: 1, target: 'd', source: 'ghost', sourceAddr: { host: 'h', port: 99 } })]), 'datagram', h.now));
    expect(d.hasHeard('ghost')).toBe(false);
    // From ghost's own address it does.
    h.apply('d', d.handlePacket({ host: 'h', port: 99 }, encodePacket([encodeMessage({ type: 'ping', seq: 2, target: 'd', source: 'ghost', sourceAddr: { host: 'h', port: 99 } })]), 'datagram', h.now));
    expect(d.hasHeard('ghost')).toBe(true);
  });
});

describe('membership: news goes out at once', () => {
  const suspectOf = (node: string, from: string): Uint8Array => packet({ type: 'suspect', node, incarnation: 0, from });
  /** Runs a's pending news rounds (the join's), so that a test starts with none. */
  const settle = (h: Hand): void => {
    while (h.timers.some((t) => t.node === 'a' && t.timer.kind === 'gossip-news')) h.fire('a', 'gossip-news');
    h.now += 1000;
  };

  it('sends news in a gossip round of its own at once, not at the next gossip tick', () => {
    const h = cluster(['a', 'b', 'c', 'd']);
    settle(h);
    h.packets.length = 0;
    h.apply('a', h.node('a').handlePacket(h.addrOf('b'), suspectOf('c', 'b'), 'datagram', h.now));
    const news = h.timers.filter((t) => t.node === 'a' && t.timer.kind === 'gossip-news');
    expect(news).toHaveLength(1);
    expect(news[0]?.at).toBe(h.now); // due in this turn
    h.fire('a', 'gossip-news');
    const out = h.packets.filter((p) => p.from === 'a' && h.types(p).includes('suspect'));
    expect(out.length).toBeGreaterThan(0);
    expect(out.length).toBeLessThanOrEqual(3); // gossipNodes
  });

  it('batches news arriving in one turn into one round, and spaces news rounds half a gossip interval apart', () => {
    const h = cluster(['a', 'b', 'c', 'd', 'e']);
    settle(h);
    const t0 = h.now;
    h.apply('a', h.node('a').handlePacket(h.addrOf('b'), suspectOf('c', 'b'), 'datagram', t0));
    h.apply('a', h.node('a').handlePacket(h.addrOf('b'), suspectOf('d', 'b'), 'datagram', t0));
    expect(h.timers.filter((t) => t.node === 'a' && t.timer.kind === 'gossip-news')).toHaveLength(1);
    h.fire('a', 'gossip-news');
    // More news right after the round: its own round waits until half a gossip interval has passed.
    h.apply('a', h.node('a').handlePacket(h.addrOf('b'), suspectOf('e', 'b'), 'datagram', h.now));
    h.packets.length = 0;
    h.fire('a', 'gossip-news');
    expect(h.packets.filter((p) => p.from === 'a')).toHaveLength(0);
    const rearmed = h.timers.filter((t) => t.node === 'a' && t.timer.kind === 'gossip-news');
    expect(rearmed).toHaveLength(1);
    expect(rearmed[0]?.at).toBe(t0 + 100); // lan: gossip interval 200 ms
    h.fire('a', 'gossip-news');
    expect(h.packets.filter((p) => p.from === 'a' && h.types(p).includes('suspect')).length).toBeGreaterThan(0);
  });

  it('does not add rounds for nothing: with an empty queue a news timer sends nothing', () => {
    const h = cluster(['a', 'b']);
    for (let i = 0; i < 40; i++) {
      h.clearTimers('a', 'probe');
      if (h.timers.some((t) => t.node === 'a' && t.timer.kind === 'gossip')) h.fire('a', 'gossip');
      if (h.timers.some((t) => t.node === 'a' && t.timer.kind === 'gossip-news')) h.fire('a', 'gossip-news');
    }
    expect(h.timers.filter((t) => t.node === 'a' && (t.timer.kind === 'gossip' || t.timer.kind === 'gossip-news'))).toHaveLength(0);
  });
});
