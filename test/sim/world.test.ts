import { describe, expect, it } from 'vitest';
import { World, simAddress, type SimMember, type SimMemberConfig } from '../../src/sim/world.js';
import type { Effect, MembershipEvent, Timer } from '../../src/membership/types.js';
import type { Address } from '../../src/wire/messages.js';
import { fakeFactory, FakeMembership } from './fake-membership.js';

const world = (seed = 1, extra: Partial<ConstructorParameters<typeof World>[0]> = {}): World =>
  new World({ seed, factory: fakeFactory, profile: 'local', network: { link: { latency: { kind: 'constant', ms: 1 } } }, ...extra });

/** A member that only records what it is given, and does what the test tells it to. */
class Recorder extends FakeMembership {
  readonly log: string[] = [];
  next: Effect[] = [];
  override start(now: number): Effect[] {
    this.log.push(`start@${now}`);
    return this.take();
  }
  override join(seeds: readonly Address[], now: number): Effect[] {
    this.log.push(`join@${now}:${seeds.map((s) => s.host).join(',')}`);
    return this.take();
  }
  override handlePacket(_from: Address, packet: Uint8Array, channel: string, now: number): Effect[] {
    this.log.push(`${channel}@${now}:${new TextDecoder().decode(packet)}`);
    return this.take();
  }
  override handleTimer(timer: Timer, now: number): Effect[] {
    this.log.push(`timer@${now}:${timer.kind}`);
    return this.take();
  }
  override leave(now: number): Effect[] {
    this.log.push(`leave@${now}`);
    return this.take();
  }
  handleStreamRefused(to: Address, now: number): Effect[] {
    this.log.push(`refused@${now}:${to.host}`);
    return this.take();
  }
  private take(): Effect[] {
    const out = this.next;
    this.next = [];
    return out;
  }
}

const recorders = (): { factory: (c: SimMemberConfig) => SimMember; get: (name: string) => Recorder } => {
  const all = new Map<string, Recorder>();
  return {
    factory: (c) => {
      const r = new Recorder(c);
      all.set(c.name, r);
      return r;
    },
    get: (name) => all.get(name) as Recorder,
  };
};

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const send = (to: Address, text: string, channel: 'datagram' | 'stream' = 'datagram'): Effect => ({ type: 'send', to, packet: bytes(text), channel });

describe('World', () => {
  it('names nodes n1, n2, … and gives each a unique address', () => {
    const w = world();
    expect(w.addNodes(3)).toEqual(['n1', 'n2', 'n3']);
    expect(w.addressOf('n2')).toEqual(simAddress(2));
    expect(new Set(['n1', 'n2', 'n3'].map((n) => w.addressOf(n).host)).size).toBe(3);
    expect(() => w.addNode('n1')).toThrow(/already exists/);
    expect(() => w.crash('n9')).toThrow(/no node named "n9": nodes are n1..n3/);
  });

  it('delivers a sent packet after the link latency and counts it at both ends', () => {
    const r = recorders();
    const w = world(1, { factory: r.factory });
    w.addNodes(2);
    w.start('n1', 'n2');
    r.get('n1').next = [send(w.addressOf('n2'), 'hello')];
    w.leave('n1'); // any input: the recorder returns `next`
    w.runFor(5);
    expect(r.get('n2').log).toContain('datagram@1:hello');
    expect(w.traffic('n1').sent.datagram).toEqual({ packets: 1, bytes: 5 });
    expect(w.traffic('n2').received.datagram).toEqual({ packets: 1, bytes: 5 });
    expect(w.totalTraffic().sent.stream.packets).toBe(0);
    expect(w.stats.packetsDelivered).toBe(1);
  });

  it('fires scheduled timers at now + delay', () => {
    const r = recorders();
    const w = world(1, { factory: r.factory });
    w.addNode();
    r.get('n1').next = [{ type: 'schedule', timer: { kind: 'gossip' }, delayMs: 250 }];
    w.start('n1');
    w.runFor(249);
    expect(r.get('n1').log).toEqual(['start@0']);
    w.runFor(1);
    expect(r.get('n1').log).toEqual(['start@0', 'timer@250:gossip']);
  });

  it('rejects a negative or non-finite timer delay as a bug in the member', () => {
    const r = recorders();
    const w = world(1, { factory: r.factory });
    w.addNode();
    r.get('n1').next = [{ type: 'schedule', timer: { kind: 'gossip' }, delayMs: NaN }];
    expect(() => w.start('n1')).toThrow(/n1 scheduled gossip with delayMs NaN/);
  });

  it('drops everything sent to a crashed node, and its timers, for good', () => {
    const r = recorders();
    const w = world(1, { factory: r.factory });
    w.addNodes(2);
    r.get('n2').next = [{ type: 'schedule', timer: { kind: 'probe' }, delayMs: 10 }];
    w.start('n1', 'n2');
    w.crash('n2');
    r.get('n1').next = [send(w.addressOf('n2'), 'x'), send(w.addressOf('n2'), 'y', 'stream')];
    w.leave('n1');
    w.runFor(100);
    expect(r.get('n2').log).toEqual(['start@0']);
    expect(w.stats.droppedAtDeadNode).toBe(2);
    expect(w.lifecycleOf('n2')).toBe('crashed');
    expect(w.liveNames()).toEqual(['n1']);
  });

  it('refuses a stream to a crashed node back to its sender one trip later (its host is up), but not a datagram', () => {
    const r = recorders();
    const w = world(1, { factory: r.factory });
    w.addNodes(2);
    r.get('n1').next = [send(w.addressOf('n2'), 'x'), send(w.addressOf('n2'), 'y', 'stream')];
    w.start('n1', 'n2');
    w.crash('n2');
    w.runFor(100);
    // Constant 1 ms links: the stream arrives after its 3 trips, the refusal one trip later.
    expect(r.get('n1').log.filter((l) => l.startsWith('refused@'))).toEqual([`refused@4:${w.addressOf('n2').host}`]);
    expect(w.stats.streamsRefused).toBe(1);
    expect(w.stats.droppedAtDeadNode).toBe(2);
  });

  it('queues packets and timers for a paused node and on resume runs the expired timers first, then the packets in order', () => {
    const r = recorders();
    const w = world(1, { factory: r.factory });
    w.addNodes(2);
    r.get('n2').next = [{ type: 'schedule', timer: { kind: 'probe' }, delayMs: 5 }];
    w.start('n1', 'n2');
    w.pause('n2', 100);
    r.get('n1').next = [send(w.addressOf('n2'), 'a'), send(w.addressOf('n2'), 'b', 'stream')];
    w.leave('n1');
    w.runFor(99);
    expect(r.get('n2').log).toEqual(['start@0']);
    w.runFor(1);
    // As an event loop after a stall: the expired timer (due at 5 ms) first, then the I/O in
    // arrival order: the datagram at 1 ms, the stream at 3 ms (3 one-way trips).
    expect(r.get('n2').log).toEqual(['start@0', 'timer@100:probe', 'datagram@100:a', 'stream@100:b']);
  });

  it('drops datagrams beyond the pause queue limit but keeps streams', () => {
    const r = recorders();
    const w = world(1, { factory: r.factory, pauseQueueLimit: 2 });
    w.addNodes(2);
    w.start('n1', 'n2');
    w.pause('n2');
    const to = w.addressOf('n2');
    r.get('n1').next = [send(to, '1'), send(to, '2'), send(to, '3'), send(to, 's', 'stream')];
    w.leave('n1');
    w.runFor(10);
    w.resume('n2');
    w.runFor(0);
    expect(r.get('n2').log.slice(1)).toEqual(['datagram@10:1', 'datagram@10:2', 'stream@10:s']);
    expect(w.stats.droppedPauseOverflow).toBe(1);
  });

  it('keeps a leaving node running until it reports the leave disseminated, then stops it', () => {
    const w = world();
    w.addNodes(3);
    w.joinAll();
    w.runFor(2000);
    w.leave('n2');
    expect(w.isLeaving('n2')).toBe(true);
    w.runFor(100);
    expect(w.lifecycleOf('n2')).toBe('left');
    expect(w.allSee('n2', 'left')).toBe(true);
    expect(w.isConverged()).toBe(true);
  });

  it('stops a leaving node after leaveTimeoutMs if it never reports the leave disseminated', () => {
    const r = recorders();
    const w = world(1, { factory: r.factory, leaveTimeoutMs: 700 });
    w.addNode();
    w.start('n1');
    w.leave('n1');
    w.runFor(699);
    expect(w.lifecycleOf('n1')).toBe('running');
    w.runFor(1);
    expect(w.lifecycleOf('n1')).toBe('left');
  });

  it('restarts a crashed node as a fresh instance that ignores the old instance timers', () => {
    const r = recorders();
    const w = world(1, { factory: r.factory });
    w.addNodes(2);
    w.start('n1');
    r.get('n2').next = [{ type: 'schedule', timer: { kind: 'reap' }, delayMs: 50 }];
    w.start('n2');
    const old = r.get('n2');
    w.crash('n2');
    w.restart('n2');
    expect(r.get('n2')).not.toBe(old);
    expect(w.member('n2')).toBe(r.get('n2'));
    w.runFor(100);
    expect(r.get('n2').log).toEqual([`start@0`, `join@0:${w.addressOf('n1').host}`]);
    expect(old.log).toEqual(['start@0']);
    expect(w.lifecycleOf('n2')).toBe('running');
  });

  it('counts packets to an address no node has as undeliverable', () => {
    const r = recorders();
    const w = world(1, { factory: r.factory });
    w.addNode();
    r.get('n1').next = [send({ host: '192.0.2.1', port: 1 }, 'lost')];
    w.start('n1');
    expect(w.stats.undeliverable).toBe(1);
  });

  it('cuts partitioned nodes apart and lets them back after heal', () => {
    const w = world();
    w.addNodes(6);
    w.joinAll();
    w.runFor(3000);
    expect(w.isConverged()).toBe(true);
    const id = w.partition(['n1', 'n2', 'n3'], ['n4', 'n5', 'n6']);
    w.runFor(3000);
    expect(w.member('n1').statusOf('n4')).toBe('dead');
    expect(w.stats.falseDeaths).toBeGreaterThan(0);
    expect(w.heal(id)).toBe(1);
    expect(w.network.partitionCount).toBe(0);
  });

  it('reports events to listeners with the node and the time, until unsubscribed', () => {
    const w = world();
    w.addNodes(3);
    const seen: [string, MembershipEvent['type'], number][] = [];
    const off = w.onEvent((node, event, time) => seen.push([node, event.type, time]));
    w.joinAll();
    w.runFor(2000);
    expect(seen.filter(([, type]) => type === 'member-join').length).toBe(6);
    off();
    w.crash('n3');
    w.runFor(3000);
    expect(seen.some(([, type]) => type === 'member-dead')).toBe(false);
    expect(w.countViews('n3', 'dead')).toBe(2);
    expect(w.countViews('n3', 'alive')).toBe(0);
  });

  it('builds a converged cluster without traffic, sharing one records array, then starts it', () => {
    const restored: (readonly unknown[])[] = [];
    const w = new World({
      seed: 3,
      profile: 'local',
      factory: (c) => {
        const m = new FakeMembership(c);
        const restore = m.restore.bind(m);
        m.restore = (records, now) => {
          restored.push(records);
          restore(records, now);
        };
        return m;
      },
    });
    const names = w.buildConverged(50);
    expect(names.length).toBe(50);
    expect(w.stats.packetsSent).toBe(0);
    expect(w.isConverged()).toBe(true);
    expect(new Set(restored).size).toBe(1);
    expect(w.countViews('n7', 'alive')).toBe(49);
    w.runFor(1000);
    expect(w.stats.packetsSent).toBeGreaterThan(0);
    w.buildConverged(10);
    expect(w.size).toBe(60);
    expect(w.isConverged()).toBe(true);
  });

  it('forms a cluster through the real join path and detects a crash', () => {
    const w = world(5);
    w.addNodes(20);
    expect(w.joinAll()).toBe(19);
    const at = w.runUntilTrue(() => w.isConverged(), 10_000);
    expect(at).toBeDefined();
    w.crash('n5');
    expect(w.runUntilTrue(() => w.allSee('n5', 'dead'), 20_000)).toBeDefined();
    expect(w.isConverged()).toBe(true);
  });

  it('replays a run exactly with the same seed, and differently with another', () => {
    const run = (seed: number): unknown => {
      const w = world(seed, { network: { link: { latency: { kind: 'lognormal', medianMs: 2, sigma: 0.5 }, lossRate: 0.05, duplicateRate: 0.02 } } });
      const events: string[] = [];
      w.onEvent((node, e, t) => events.push(`${t.toFixed(6)} ${node} ${e.type}`));
      w.addNodes(30);
      w.joinAll();
      w.runFor(5000);
      w.crash('n9');
      w.pause('n10', 1500);
      w.partition(['n1', 'n2'], ['n3'], true);
      w.runFor(5000);
      w.heal();
      w.leave('n11');
      w.runFor(5000);
      return { hash: w.traceHash, stats: { ...w.stats }, net: { ...w.network.stats }, traffic: w.totalTraffic(), events };
    };
    const a = run(42);
    expect(run(42)).toEqual(a);
    expect((run(43) as { hash: number }).hash).not.toBe((a as { hash: number }).hash);
  });

  it('runs scheduled actions at their time, after events already queued for it', () => {
    const r = recorders();
    const w = world(1, { factory: r.factory });
    w.addNode();
    r.get('n1').next = [{ type: 'schedule', timer: { kind: 'gossip' }, delayMs: 10 }];
    w.start('n1');
    w.at(10, () => r.get('n1').log.push(`action@${w.now}`));
    w.after(20, () => r.get('n1').log.push(`action@${w.now}`));
    w.runFor(30);
    expect(r.get('n1').log).toEqual(['start@0', 'timer@10:gossip', 'action@10', 'action@20']);
    expect(w.now).toBe(30);
  });
});
