/**
 * The prober on its own: a member table, an outbox and two recording callbacks, no Membership.
 * What membership.test.ts covers end to end (a probe, its indirect probes, suspicion after a
 * failure, the buddy rule) is not repeated; this covers the relays, the nacks, the stream fallback,
 * Lifeguard's health arithmetic and the edges of the probe cycle.
 */
import { describe, expect, it } from 'vitest';
import { Awareness } from '../../src/membership/awareness.js';
import { BroadcastQueue } from '../../src/membership/broadcast-queue.js';
import { newCounters } from '../../src/membership/counters.js';
import { MemberTable } from '../../src/membership/member-table.js';
import { resolveOptions, type MembershipOptions } from '../../src/membership/options.js';
import { Outbox } from '../../src/membership/outbox.js';
import { MAX_RELAYS, Prober } from '../../src/membership/probe.js';
import type { Channel, Effect, Report, Timer } from '../../src/membership/types.js';
import { SeededRandom } from '../../src/util/random.js';
import { decodePacket } from '../../src/wire/codec.js';
import type { Address, Message, PingReqMessage } from '../../src/wire/messages.js';

const state = { tags: {}, payload: null };
const addr = (port: number): Address => ({ host: 'h', port });
/** The name of the member at `port` (b at 2, c at 3, …). */
const nameAt = (port: number): string => String.fromCharCode('b'.charCodeAt(0) + port - 2);
const SELF = addr(1);

interface Sent {
  readonly to: number;
  readonly channel: Channel;
  readonly messages: Message[];
}

/** A prober for 'a' (port 1) with members b, c, d, … at ports 2, 3, 4, … */
function setup(overrides: Partial<MembershipOptions> = {}, members = ['b', 'c', 'd']) {
  const opts = resolveOptions({ streamFallbackProbe: true, ...overrides });
  const table = new MemberTable(new SeededRandom(1));
  const self = table.add({ node: 'a', addr: SELF, state }, 0, 'alive', 0);
  // Members that have answered before (a cluster that has run a while); unheard ones are tested apart.
  members.forEach((m, i) => table.setHeard(table.add({ node: m, addr: addr(i + 2), state }, 0, 'alive', 0)));
  table.setHeard(self);
  const counters = newCounters();
  const out = new Outbox(opts, table, new BroadcastQueue(), counters);
  const awareness = new Awareness(opts.awarenessMaxMultiplier);
  const unanswered: string[] = [];
  const acked: [number, number][] = [];
  const owners: number[] = [];
  const claims: [string, number, number][] = [];
  const prober = new Prober({
    name: 'a',
    addr: SELF,
    self,
    table,
    opts,
    awareness,
    out,
    counters,
    unanswered: (member) => unanswered.push(member),
    acked: (peer, digest) => acked.push([peer.port, digest]),
    ownerAnswered: (other) => owners.push(other.port),
    claimed: (name, holder, other) => claims.push([name, holder.port, other.port]),
  });
  /** The effects so far, split by kind, packets decoded. */
  const flush = (): { sent: Sent[]; timers: [Timer, number][]; reports: Report[] } => {
    const effects: Effect[] = out.flush();
    const sent: Sent[] = [];
    const timers: [Timer, number][] = [];
    const reports: Report[] = [];
    for (const e of effects) {
      if (e.type === 'send') {
        const r = decodePacket(e.packet, { maxPacketBytes: 1 << 20 });
        if (!r.ok) throw new Error(r.error.detail);
        sent.push({ to: e.to.port, channel: e.channel, messages: r.messages });
      } else if (e.type === 'schedule') timers.push([e.timer, e.delayMs]);
      else if (e.type === 'report') reports.push(e.report);
    }
    return { sent, timers, reports };
  };
  return { opts, table, counters, awareness, prober, unanswered, acked, owners, claims, flush };
}

/** Starts a probe and returns its sequence number and target port. */
function startProbe(p: ReturnType<typeof setup>): { seq: number; to: number } {
  p.prober.start();
  const ping = p.flush().sent[0];
  const m = ping?.messages.find((x) => x.type === 'ping');
  if (ping === undefined || m === undefined || m.type !== 'ping') throw new Error('no ping');
  return { seq: m.seq, to: ping.to };
}

const pingReq = (seq: number, targetPort: number, nack: boolean): PingReqMessage => ({
  type: 'ping-req',
  seq,
  target: `t${targetPort}`,
  targetAddr: addr(targetPort),
  source: 'origin',
  sourceAddr: addr(99),
  nack,
});

describe('the prober: relays', () => {
  it('pings the target under its own sequence number and forwards the ack, once, with the target digest', () => {
    const p = setup();
    p.prober.onPingReq(addr(99), pingReq(41, 50, true));
    const { sent, timers } = p.flush();
    expect(sent).toHaveLength(1);
    expect(sent[0]?.to).toBe(50);
    const ping = sent[0]?.messages[0];
    expect(ping).toMatchObject({ type: 'ping', target: 't50', source: 'a', sourceAddr: SELF });
    const relaySeq = ping?.type === 'ping' ? ping.seq : -1;
    expect(timers).toEqual([[{ kind: 'relay-timeout', seq: relaySeq }, p.opts.probeTimeoutMs]]);
    expect(p.counters.relayedProbes).toBe(1);

    p.prober.onAck(addr(50), { type: 'ack', seq: relaySeq, digest: 1234 }, 'datagram', 10);
    expect(p.flush().sent).toEqual([{ to: 99, channel: 'datagram', messages: [{ type: 'ack', seq: 41, digest: 1234 }] }]);
    // The relay is over: a duplicate ack and the timer are no-ops, no nack follows.
    p.prober.onAck(addr(50), { type: 'ack', seq: relaySeq, digest: 1234 }, 'datagram', 11);
    p.prober.onRelayTimeout(relaySeq);
    expect(p.flush().sent).toEqual([]);
    expect(p.counters.nacksSent).toBe(0);
    expect(p.acked).toEqual([]); // a relayed ack is not an answer to this node's own probe
  });

  it.each([
    [true, 1],
    [false, 0],
  ])('nacks a relay that timed out only when asked to (nack %s)', (nack, nacks) => {
    const p = setup();
    p.prober.onPingReq(addr(99), pingReq(7, 50, nack));
    p.flush();
    p.prober.onRelayTimeout(1); // the prober's first sequence number
    const { sent } = p.flush();
    expect(sent).toEqual(nacks === 0 ? [] : [{ to: 99, channel: 'datagram', messages: [{ type: 'nack', seq: 7 }] }]);
    expect(p.counters.nacksSent).toBe(nacks);
  });

  it(`runs at most ${MAX_RELAYS} relays at once and drops and counts the rest`, () => {
    const p = setup();
    for (let i = 0; i < MAX_RELAYS; i++) p.prober.onPingReq(addr(99), pingReq(i, 50, true));
    expect(p.prober.relaying).toBe(MAX_RELAYS);
    p.flush();
    p.prober.onPingReq(addr(99), pingReq(5000, 50, true));
    expect(p.flush().sent).toEqual([]);
    expect(p.counters['dropped.relay-limit']).toBe(1);
    expect(p.counters.relayedProbes).toBe(MAX_RELAYS);
    // One relay ends: there is room for one more.
    p.prober.onRelayTimeout(1);
    p.prober.onPingReq(addr(99), pingReq(5001, 50, true));
    expect(p.flush().sent.filter((s) => s.to === 50)).toHaveLength(1);
    expect(p.prober.relaying).toBe(MAX_RELAYS);
  });

  it('keeps relaying for others after it stopped probing (a leave)', () => {
    const p = setup();
    p.prober.stop();
    p.prober.start();
    expect(p.flush().sent).toEqual([]);
    p.prober.onPingReq(addr(99), pingReq(3, 50, true));
    expect(p.flush().sent.map((s) => s.to)).toEqual([50]);
  });
});

describe('the prober: the probe cycle', () => {
  it('answers a ping for itself with its digest on the channel it came on, and drops one for another name', () => {
    const p = setup();
    p.prober.onPing(addr(7), { type: 'ping', seq: 9, target: 'a', source: 'x', sourceAddr: addr(7) }, 'stream', 0);
    expect(p.flush().sent).toEqual([{ to: 7, channel: 'stream', messages: [{ type: 'ack', seq: 9, digest: p.table.digest }] }]);
    p.prober.onPing(addr(7), { type: 'ping', seq: 10, target: 'zz', source: 'x', sourceAddr: addr(7) }, 'datagram', 0);
    expect(p.flush().sent).toEqual([]);
    expect(p.counters['dropped.misdirected-ping']).toBe(1);
  });

  it('with nobody to probe, only tries again an interval later', () => {
    const p = setup({}, []);
    p.prober.start();
    expect(p.flush()).toEqual({ sent: [], timers: [[{ kind: 'probe' }, p.opts.probeIntervalMs]], reports: [] });
    expect(p.counters.probes).toBe(0);
  });

  it('scales the interval and the timeout by the health score', () => {
    const p = setup();
    p.awareness.apply(2);
    p.prober.start();
    const { timers } = p.flush();
    expect(timers.map(([t, ms]) => [t.kind, ms])).toEqual([
      ['probe-timeout', 3 * p.opts.probeTimeoutMs],
      ['probe-end', 3 * p.opts.probeIntervalMs],
    ]);
  });

  it('asks alive members other than itself and the target, and pings the target over the stream', () => {
    const p = setup({ indirectChecks: 5 }, ['b', 'c', 'd', 'e']);
    const probe = startProbe(p);
    const suspect = probe.to === 2 ? 3 : 2;
    p.table.setStatus(p.table.slotOf(nameAt(suspect)), 'suspect', 0);
    p.prober.onTimeout(probe.seq);
    const { sent } = p.flush();
    const reqs = sent.filter((s) => s.messages[0]?.type === 'ping-req');
    // Of the four members, the target and the suspect are not asked, nor is self: the other two are.
    const others = [2, 3, 4, 5].filter((port) => port !== probe.to && port !== suspect);
    expect(reqs.map((s) => s.to).sort()).toEqual(others);
    expect(reqs[0]?.messages[0]).toMatchObject({ type: 'ping-req', seq: probe.seq, target: nameAt(probe.to), targetAddr: addr(probe.to), nack: true });
    expect(sent.filter((s) => s.channel === 'stream')).toEqual([
      { to: probe.to, channel: 'stream', messages: [expect.objectContaining({ type: 'ping', seq: probe.seq })] },
    ]);
    expect(p.counters.indirectProbes).toBe(2);
    expect(p.counters.streamProbes).toBe(1);
  });

  it('does no indirect probing once the target acked, nor for a stale timer', () => {
    const p = setup();
    const probe = startProbe(p);
    p.prober.onTimeout(probe.seq + 1);
    expect(p.flush().sent).toEqual([]);
    p.prober.onAck(addr(probe.to), { type: 'ack', seq: probe.seq, digest: 5 }, 'datagram', 0);
    p.prober.onTimeout(probe.seq);
    expect(p.flush().sent).toEqual([]);
    expect(p.acked).toEqual([[probe.to, 5]]);
  });

  it('reports each probe it sends and its first ack with the path the ack took, so a runtime can time the round trip', () => {
    const p = setup();
    p.prober.start();
    const sent = p.flush();
    const ping = sent.sent[0]?.messages.find((m) => m.type === 'ping');
    const seq = ping?.type === 'ping' ? ping.seq : -1;
    const to = sent.sent[0]?.to ?? -1;
    expect(sent.reports).toEqual([{ kind: 'probe-sent', seq, member: nameAt(to) }]);
    // Before the probe timeout only the target can answer: direct, whatever address it comes from (NAT).
    p.prober.onAck(addr(77), { type: 'ack', seq, digest: 1 }, 'datagram', 5);
    expect(p.flush().reports).toEqual([{ kind: 'probe-acked', seq, member: nameAt(to), path: 'direct' }]);
    // A second ack is no second answer.
    p.prober.onAck(addr(to), { type: 'ack', seq, digest: 1 }, 'datagram', 6);
    expect(p.flush().reports).toEqual([]);
  });

  it.each([
    ['a relay', 'relay', 'indirect'],
    ['the target itself, late', 'target', 'direct'],
  ] as const)('after the probe timeout, names an ack from %s %s', (_what, sender, path) => {
    const p = setup();
    const probe = startProbe(p);
    p.prober.onTimeout(probe.seq);
    p.flush();
    const relay = probe.to === 2 ? 3 : 2;
    p.prober.onAck(addr(sender === 'relay' ? relay : probe.to), { type: 'ack', seq: probe.seq, digest: 1 }, 'datagram', 600);
    expect(p.flush().reports).toEqual([{ kind: 'probe-acked', seq: probe.seq, member: nameAt(probe.to), path }]);
  });

  it('reports an ack of its probe that came over the stream fallback, and counts the probe answered', () => {
    const p = setup();
    const probe = startProbe(p);
    p.prober.onTimeout(probe.seq);
    p.flush();
    p.prober.onAck(addr(probe.to), { type: 'ack', seq: probe.seq, digest: 77 }, 'stream', 0);
    const { reports } = p.flush();
    expect(reports).toEqual([
      { kind: 'stream-probe-acked', member: nameAt(probe.to), addr: addr(probe.to) },
      { kind: 'probe-acked', seq: probe.seq, member: nameAt(probe.to), path: 'stream' },
    ]);
    // The relayed datagram ack arrives later: the probe is answered once, and nothing is reported.
    p.prober.onAck(addr(3), { type: 'ack', seq: probe.seq, digest: 77 }, 'datagram', 0);
    expect(p.flush().reports).toEqual([]);
    expect(p.acked).toEqual([[probe.to, 77]]);
    p.prober.onEnd(probe.seq, 0);
    expect(p.counters.probeFailures).toBe(0);
    expect(p.unanswered).toEqual([]);
  });

  it.each([
    // relays asked, nacks that came, health score after the failed probe (from 0)
    [2, 2, 0],
    [2, 1, 1],
    [2, 0, 2],
    [0, 0, 1], // nobody to nack: any failure counts against us
  ])('with %i relays asked and %i nacks, a failed probe leaves a health score of %i', (relays, nacks, score) => {
    const members = ['b', 'c', 'd'].slice(0, relays + 1);
    const p = setup({ indirectChecks: relays }, members);
    const probe = startProbe(p);
    p.prober.onTimeout(probe.seq);
    p.flush();
    // Nacks before and after the interval ends both count: a relay waits a whole probe timeout.
    for (let i = 0; i < nacks; i++) {
      if (i === 1) p.prober.onEnd(probe.seq, 0);
      p.prober.onNack(probe.seq);
    }
    p.prober.onNack(probe.seq + 100); // another probe's: not counted
    if (nacks < 2) p.prober.onEnd(probe.seq, 0);
    expect(p.awareness.healthScore).toBe(0); // not judged yet
    p.prober.onNackCount(probe.seq);
    expect(p.awareness.healthScore).toBe(score);
    p.prober.onNack(probe.seq); // too late now: changes nothing
    p.prober.onNackCount(probe.seq);
    expect(p.awareness.healthScore).toBe(score);
    expect(p.unanswered).toHaveLength(1);
    expect(p.counters.probeFailures).toBe(1);
    // The next probe starts at once.
    expect(p.flush().sent.some((s) => s.messages.some((m) => m.type === 'ping'))).toBe(true);
  });

  it('lowers the health score after an answered probe, and reports a failed one to Membership by name', () => {
    const p = setup({ indirectChecks: 0 }, ['b']);
    p.awareness.apply(3);
    const first = startProbe(p);
    p.prober.onAck(addr(first.to), { type: 'ack', seq: first.seq, digest: 0 }, 'datagram', 0);
    p.prober.onEnd(first.seq, 0); // and starts the next probe at once
    expect(p.awareness.healthScore).toBe(2);
    const next = p.flush().sent[0]?.messages[0];
    expect(next?.type).toBe('ping');
    p.prober.onEnd(next?.type === 'ping' ? next.seq : -1, 0);
    p.prober.onNackCount(next?.type === 'ping' ? next.seq : -1);
    expect(p.unanswered).toEqual(['b']);
    expect(p.awareness.healthScore).toBe(3);
  });

  it('forgets its probe when stopped: a late ack and the end timer do nothing', () => {
    const p = setup();
    const probe = startProbe(p);
    p.prober.stop();
    p.prober.onAck(addr(probe.to), { type: 'ack', seq: probe.seq, digest: 1 }, 'stream', 0);
    p.prober.onEnd(probe.seq, 0);
    expect(p.flush()).toEqual({ sent: [], timers: [], reports: [] });
    expect(p.acked).toEqual([]);
    expect(p.unanswered).toEqual([]);
  });
});

describe('the prober: members not heard from', () => {
  /** A prober whose view has `heard` real members (answered before) and `fakes` that never answered. */
  function padded(heard: string[], fakes: string[]) {
    const p = setup({ indirectChecks: 3 }, heard);
    fakes.forEach((f, i) => p.table.add({ node: f, addr: addr(100 + i), state }, 0, 'alive', 0));
    return p;
  }

  it('gives members heard from at least every other probe, however many unheard ones pad the view', () => {
    const fakes = Array.from({ length: 50 }, (_, i) => `fake-${i}`);
    const p = padded(['b', 'c'], fakes);
    const targets: number[] = [];
    for (let i = 0; i < 40; i++) {
      const probe = startProbe(p);
      targets.push(probe.to);
      p.prober.onEnd(probe.seq, 0);
      p.flush();
    }
    const real = targets.filter((port) => port < 100).length;
    expect(real).toBeGreaterThanOrEqual(20);
    // b and c each had their turn every few probes, not once per 52.
    expect(targets.filter((port) => port === 2).length).toBeGreaterThanOrEqual(8);
    expect(targets.filter((port) => port === 3).length).toBeGreaterThanOrEqual(8);
  });

  it('asks relays it has heard from first, and counts only their missing nacks against itself', () => {
    const p = padded(['b'], ['x', 'y', 'z']);
    // Probe until the target is b: its relays can then only be x, y, z (unheard).
    let probe = startProbe(p);
    while (probe.to !== 2) {
      p.prober.onAck(addr(probe.to), { type: 'ack', seq: probe.seq, digest: 0 }, 'datagram', 0);
      p.prober.onEnd(probe.seq, 0);
      p.flush();
      probe = startProbe(p);
    }
    p.prober.onTimeout(probe.seq);
    const reqs = p.flush().sent.filter((s) => s.messages.some((m) => m.type === 'ping-req'));
    expect(reqs.map((r) => r.to).sort()).toEqual([100, 101, 102]);
    p.prober.onEnd(probe.seq, 0);
    p.prober.onNackCount(probe.seq);
    // Three relays that never answer: no evidence that this node is the slow one.
    expect(p.awareness.healthScore).toBe(0);
  });

  it('marks a member heard when it answers a probe', () => {
    const p = padded([], ['x']);
    const probe = startProbe(p);
    const slot = p.table.slotOf('x');
    expect(p.table.heard(slot)).toBe(false);
    p.prober.onAck(addr(probe.to), { type: 'ack', seq: probe.seq, digest: 0 }, 'datagram', 0);
    expect(p.table.heard(slot)).toBe(true);
  });
});

describe('the prober: two processes with one name', () => {
  it('pings an address that claims our name for that name, and reports when it answers', () => {
    const p = setup();
    p.prober.checkOwner(addr(40));
    p.prober.checkOwner(addr(41)); // one check at a time
    const out = p.flush();
    expect(out.sent).toHaveLength(1);
    const ping = out.sent[0]?.messages[0];
    expect(out.sent[0]?.to).toBe(40);
    expect(ping).toMatchObject({ type: 'ping', target: 'a', source: 'a' });
    const seq = ping?.type === 'ping' ? ping.seq : -1;
    expect(out.timers.map(([t]) => t)).toEqual([{ kind: 'owner-check', seq }]);
    p.prober.onAck(addr(40), { type: 'ack', seq, digest: 0 }, 'datagram', 0);
    expect(p.owners).toEqual([40]);
    // Answered once; the next check may go out.
    p.prober.checkOwner(addr(41));
    expect(p.flush().sent[0]?.to).toBe(41);
  });

  it('an unanswered check reports nothing and frees the slot', () => {
    const p = setup();
    p.prober.checkOwner(addr(40));
    const seq = (p.flush().timers[0]?.[0] as { seq: number }).seq;
    p.prober.onOwnerCheckTimeout(seq);
    p.prober.onAck(addr(40), { type: 'ack', seq, digest: 0 }, 'datagram', 0); // a late ack is not an answer
    expect(p.owners).toEqual([]);
    p.prober.checkOwner(addr(41));
    expect(p.flush().sent).toHaveLength(1);
  });

  it('knows whether a peer has pinged it by name, and reports pings under names claimed from elsewhere', () => {
    const p = setup({}, ['b', 'c']);
    expect(p.prober.probedByPeers).toBe(false);
    // Our own name from another address: another process checks whether we answer (we do).
    p.prober.onPing(addr(50), { type: 'ping', seq: 1, target: 'a', source: 'a', sourceAddr: addr(50) }, 'datagram', 0);
    expect(p.flush().sent.map((x) => x.messages[0]?.type)).toEqual(['ack']);
    expect(p.prober.probedByPeers).toBe(false);
    expect(p.claims).toEqual([['a', 1, 50]]);
    // Member b, whose address in our view is port 2, pings from port 60: a conflict about b.
    p.prober.onPing(addr(60), { type: 'ping', seq: 2, target: 'a', source: 'b', sourceAddr: addr(60) }, 'datagram', 0);
    expect(p.claims).toEqual([['a', 1, 50], ['b', 2, 60]]);
    expect(p.prober.probedByPeers).toBe(true);
    // From where the view holds it: no conflict.
    p.prober.onPing(addr(3), { type: 'ping', seq: 3, target: 'a', source: 'c', sourceAddr: addr(3) }, 'datagram', 0);
    expect(p.claims).toHaveLength(2);
  });
});

describe('the prober: a refused stream ping', () => {
  it('suspects the target at once when its TCP ping is refused after the UDP probe timed out, and once only', () => {
    const p = setup();
    const probe = startProbe(p);
    p.prober.onTimeout(probe.seq);
    p.flush();
    p.prober.onStreamRefused(addr(probe.to), 600);
    expect(p.unanswered).toEqual([nameAt(probe.to)]);
    expect(p.counters.refusedStreamProbes).toBe(1);
    p.prober.onStreamRefused(addr(probe.to), 601); // a second refusal (e.g. a retried dial)
    p.prober.onEnd(probe.seq, 1000); // the interval ends: counted failed, not suspected again
    expect(p.unanswered).toEqual([nameAt(probe.to)]);
    expect(p.counters.probeFailures).toBe(1);
    expect(p.counters.refusedStreamProbes).toBe(1);
  });

  it.each([
    ['before the UDP probe timed out', (p: ReturnType<typeof setup>, to: number) => p.prober.onStreamRefused(addr(to), 100)],
    ['from another address', (p: ReturnType<typeof setup>, to: number, seq: number) => {
      p.prober.onTimeout(seq);
      p.prober.onStreamRefused(addr(to === 2 ? 3 : 2), 600);
    }],
    ['after an ack came', (p: ReturnType<typeof setup>, to: number, seq: number) => {
      p.prober.onTimeout(seq);
      p.prober.onAck(addr(to), { type: 'ack', seq, digest: 0 }, 'stream', 550);
      p.prober.onStreamRefused(addr(to), 600);
    }],
  ])('ignores a refusal %s', (_what, act) => {
    const p = setup();
    const probe = startProbe(p);
    act(p, probe.to, probe.seq);
    expect(p.unanswered).toEqual([]);
    expect(p.counters.refusedStreamProbes).toBe(0);
  });

  it('still suspects at the end of the interval when the stream fails otherwise (no refusal: a timeout proves nothing)', () => {
    const p = setup();
    const probe = startProbe(p);
    p.prober.onTimeout(probe.seq);
    expect(p.unanswered).toEqual([]);
    p.prober.onEnd(probe.seq, 1000);
    expect(p.unanswered).toEqual([nameAt(probe.to)]);
  });
});
