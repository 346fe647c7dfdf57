/**
 * Foca-style hand harness: a few Membership instances, with their packets and timers held in
 * queues so that a test moves them by hand and says exactly what happens.
 */
import { Membership } from '../../src/membership/membership.js';
import { resolveOptions, type MembershipOptions } from '../../src/membership/options.js';
import type { Channel, Effect, MembershipEvent, Timer } from '../../src/membership/types.js';
import type { Address, MemberState } from '../../src/wire/messages.js';
import { decodePacket } from '../../src/wire/codec.js';
import { SeededRandom } from '../../src/util/random.js';
import type { StateConfig } from '../../src/membership/state-sync.js';

export interface Packet {
  readonly from: string;
  readonly to: string;
  readonly packet: Uint8Array;
  readonly channel: Channel;
}

export interface PendingTimer {
  readonly node: string;
  readonly timer: Timer;
  readonly at: number;
}

export class Hand {
  readonly nodes = new Map<string, Membership>();
  readonly packets: Packet[] = [];
  readonly timers: PendingTimer[] = [];
  readonly events: { node: string; event: MembershipEvent }[] = [];
  now = 0;
  private readonly options;
  private readonly random = new SeededRandom(7);

  constructor(overrides: Partial<MembershipOptions> = {}) {
    this.options = resolveOptions({ streamFallbackProbe: false, ...overrides });
  }

  /** Adds a node named `name`; `key` (default the name) is how the test refers to it. */
  add(name: string, state?: MemberState, key = name, host = 'h', stateLayer?: StateConfig): Membership {
    const port = this.nodes.size + 1;
    const m = new Membership({
      name,
      addr: { host, port },
      options: this.options,
      random: this.random.fork(),
      ...(state === undefined ? {} : { state }),
      ...(stateLayer === undefined ? {} : { stateLayer }),
    });
    this.nodes.set(key, m);
    return m;
  }

  node(name: string): Membership {
    const m = this.nodes.get(name);
    if (m === undefined) throw new Error(`no node ${name}`);
    return m;
  }

  addrOf(name: string): Address {
    return this.node(name).addr;
  }

  nameAt(addr: Address): string {
    for (const [name, m] of this.nodes) if (m.addr.port === addr.port) return name;
    throw new Error(`no node at ${addr.port}`);
  }

  apply(node: string, effects: Effect[]): void {
    for (const e of effects) {
      if (e.type === 'send') {
        // Packets to addresses no node has (members a test made up) are lost.
        const to = [...this.nodes.entries()].find(([, m]) => m.addr.port === e.to.port)?.[0];
        if (to !== undefined) this.packets.push({ from: node, to, packet: e.packet, channel: e.channel });
      }
      else if (e.type === 'schedule') this.timers.push({ node, timer: e.timer, at: this.now + e.delayMs });
      else if (e.type === 'emit') this.events.push({ node, event: e.event });
    }
  }

  /** Delivers every queued packet (and what they cause) until none is left, except dropped ones. */
  deliverAll(drop: (p: Packet) => boolean = () => false, maxRounds = 100): void {
    for (let round = 0; round < maxRounds && this.packets.length > 0; round++) {
      const batch = this.packets.splice(0);
      for (const p of batch) {
        if (drop(p)) continue;
        const target = this.node(p.to);
        this.apply(p.to, target.handlePacket(this.addrOf(p.from), p.packet, p.channel, this.now));
      }
    }
  }

  /** Fires the earliest pending timer of `kind` on `node` (advancing the clock to it). */
  fire(node: string, kind: Timer['kind']): Timer {
    let best = -1;
    for (let i = 0; i < this.timers.length; i++) {
      const t = this.timers[i] as PendingTimer;
      if (t.node === node && t.timer.kind === kind && (best < 0 || t.at < (this.timers[best] as PendingTimer).at)) best = i;
    }
    if (best < 0) throw new Error(`no ${kind} timer on ${node}`);
    const [t] = this.timers.splice(best, 1) as [PendingTimer];
    this.now = Math.max(this.now, t.at);
    this.apply(node, this.node(node).handleTimer(t.timer, this.now));
    return t.timer;
  }

  /** Removes every pending timer of `kind` on `node` (so a test can ignore it). */
  clearTimers(node: string, kind?: Timer['kind']): void {
    for (let i = this.timers.length - 1; i >= 0; i--) {
      const t = this.timers[i] as PendingTimer;
      if (t.node === node && (kind === undefined || t.timer.kind === kind)) this.timers.splice(i, 1);
    }
  }

  /** The message types in a queued packet. */
  types(p: Packet): string[] {
    const r = decodePacket(p.packet);
    if (!r.ok) throw new Error(r.error.detail);
    return r.messages.map((m) => m.type);
  }

  /** Joins every node to the first through push-pull and drains the packets. */
  joinAll(): void {
    const names = [...this.nodes.keys()];
    const seed = this.addrOf(names[0] as string);
    for (const name of names.slice(1)) this.apply(name, this.node(name).join([seed], this.now));
    this.deliverAll();
    // Second pass so that the first nodes learn of the later ones through gossip-free exchange.
    for (const name of names.slice(1)) this.apply(name, this.node(name).join([seed], this.now));
    this.deliverAll();
  }

  /**
   * Every node probes every other once, acks delivered, so that each has heard every member (the
   * state of a cluster that has run a while); then each is left as start() leaves it: no probe in
   * flight that a test would see, one 'probe' timer due now.
   */
  hearEveryone(): void {
    const names = [...this.nodes.keys()];
    for (const n of names) {
      const node = this.node(n);
      const all = (): boolean => names.every((x) => node.hasHeard(x));
      this.fire(n, 'probe');
      for (let k = 0; k < 4 * names.length && !all(); k++) {
        this.deliverAll();
        if (!all()) this.fire(n, 'probe-end'); // ends this probe and starts the next
      }
      if (!all()) throw new Error(`${n} did not hear every member`);
      this.clearTimers(n, 'probe-timeout');
      this.clearTimers(n, 'probe-end');
      this.packets.length = 0;
      this.timers.push({ node: n, timer: { kind: 'probe' }, at: this.now });
    }
    this.deliverAll();
  }

  /**
   * Runs every node's timers in time order until `until` (ms), delivering the packets each causes,
   * except those `drop` refuses and those to or from nodes in `down` (crashed: their timers are
   * not fired either).
   */
  runUntil(until: number, down: ReadonlySet<string> = new Set()): void {
    const drop = (p: Packet): boolean => down.has(p.from) || down.has(p.to);
    for (let k = 0; k < 1_000_000; k++) {
      let best = -1;
      for (let i = 0; i < this.timers.length; i++) {
        const t = this.timers[i] as PendingTimer;
        if (!down.has(t.node) && t.at <= until && (best < 0 || t.at < (this.timers[best] as PendingTimer).at)) best = i;
      }
      if (best < 0) break;
      const [t] = this.timers.splice(best, 1) as [PendingTimer];
      this.now = Math.max(this.now, t.at);
      this.apply(t.node, this.node(t.node).handleTimer(t.timer, this.now));
      this.deliverAll(drop);
    }
    this.now = Math.max(this.now, until);
  }

  eventsOf(node: string, type: MembershipEvent['type']): MembershipEvent[] {
    return this.events.filter((e) => e.node === node && e.event.type === type).map((e) => e.event);
  }
}
