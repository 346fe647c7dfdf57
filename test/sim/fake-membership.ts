/**
 * A tiny stand-in for Membership with the same public API, for testing the simulator's plumbing
 * without the real protocol: JSON packets, random probing, a probe timeout that declares death at
 * once, infect-style gossip of anything new, and push-pull over a stream on join and every second.
 */
import type { Address, MemberRecord, MemberState, MemberStatus } from '../../src/wire/messages.js';
import type { Channel, Effect, MemberView, Timer } from '../../src/membership/types.js';
import type { Random } from '../../src/util/random.js';
import type { SimMember, SimMemberConfig } from '../../src/sim/world.js';
import type { ResolvedOptions } from '../../src/membership/options.js';

interface Entry {
  addr: Address;
  incarnation: number;
  status: MemberStatus;
  changedAt: number;
}

type Packet =
  | { t: 'sync'; join: boolean; recs: [string, Address, number, MemberStatus][] }
  | { t: 'ping'; seq: number }
  | { t: 'ack'; seq: number }
  | { t: 'gossip'; recs: [string, Address, number, MemberStatus][] };

const RANK: Record<MemberStatus, number> = { alive: 0, suspect: 1, dead: 2, left: 3 };
const EMPTY: MemberState = { tags: {}, payload: null };
const enc = new TextEncoder();
const dec = new TextDecoder();

export class FakeMembership implements SimMember {
  readonly name: string;
  readonly addr: Address;
  readonly counters: Record<string, number> = { packetsIn: 0, timers: 0 };
  private readonly opts: ResolvedOptions;
  private readonly random: Random;
  private readonly table = new Map<string, Entry>();
  private readonly probes = new Map<number, string>();
  private readonly acked = new Set<number>();
  private seq = 0;
  private hasLeft = false;
  private out: Effect[] = [];

  constructor(config: SimMemberConfig) {
    this.name = config.name;
    this.addr = config.addr;
    this.opts = config.options;
    this.random = config.random;
    this.table.set(this.name, { addr: this.addr, incarnation: 0, status: 'alive', changedAt: 0 });
  }

  get incarnation(): number {
    return 0;
  }

  get left(): boolean {
    return this.hasLeft;
  }

  start(_now: number): Effect[] {
    this.out.push({ type: 'schedule', timer: { kind: 'probe' }, delayMs: this.random.int(this.opts.probeIntervalMs) });
    this.out.push({ type: 'schedule', timer: { kind: 'push-pull' }, delayMs: this.random.int(1000) });
    return this.flush();
  }

  join(seeds: readonly Address[], _now: number): Effect[] {
    for (const s of seeds) this.send(s, { t: 'sync', join: true, recs: this.recs() }, 'stream');
    return this.flush();
  }

  handlePacket(from: Address, packet: Uint8Array, _channel: Channel, now: number): Effect[] {
    this.counters.packetsIn = (this.counters.packetsIn ?? 0) + 1;
    const p = JSON.parse(dec.decode(packet)) as Packet;
    switch (p.t) {
      case 'sync':
        this.merge(p.recs, now, true);
        if (p.join) this.send(from, { t: 'sync', join: false, recs: this.recs() }, 'stream');
        break;
      case 'ping':
        this.send(from, { t: 'ack', seq: p.seq }, 'datagram');
        break;
      case 'ack':
        this.acked.add(p.seq);
        break;
      case 'gossip':
        this.merge(p.recs, now, true);
        break;
    }
    return this.flush();
  }

  handleTimer(timer: Timer, now: number): Effect[] {
    this.counters.timers = (this.counters.timers ?? 0) + 1;
    if (timer.kind === 'probe') {
      const target = this.randomAlive();
      if (target !== undefined) {
        const seq = ++this.seq;
        this.probes.set(seq, target);
        this.send((this.table.get(target) as Entry).addr, { t: 'ping', seq }, 'datagram');
        this.out.push({ type: 'schedule', timer: { kind: 'probe-timeout', seq }, delayMs: this.opts.probeTimeoutMs });
      }
      this.out.push({ type: 'schedule', timer: { kind: 'probe' }, delayMs: this.opts.probeIntervalMs });
    } else if (timer.kind === 'push-pull') {
      const peer = this.randomAlive();
      if (peer !== undefined) this.send((this.table.get(peer) as Entry).addr, { t: 'sync', join: true, recs: this.recs() }, 'stream');
      this.out.push({ type: 'schedule', timer: { kind: 'push-pull' }, delayMs: 1000 });
    } else if (timer.kind === 'probe-timeout') {
      const target = this.probes.get(timer.seq);
      this.probes.delete(timer.seq);
      if (target !== undefined && !this.acked.has(timer.seq)) {
        const e = this.table.get(target) as Entry;
        if (e.status === 'alive') this.merge([[target, e.addr, e.incarnation, 'dead']], now, true);
      }
      this.acked.delete(timer.seq);
    }
    return this.flush();
  }

  leave(now: number): Effect[] {
    this.hasLeft = true;
    const self = this.table.get(this.name) as Entry;
    self.status = 'left';
    self.changedAt = now;
    for (const [name, e] of this.table) {
      if (name !== this.name && e.status === 'alive') this.send(e.addr, { t: 'gossip', recs: [[this.name, this.addr, 0, 'left']] }, 'datagram');
    }
    this.out.push({ type: 'emit', event: { type: 'leave-disseminated' } });
    return this.flush();
  }

  setLocalState(_state: MemberState, _now: number): Effect[] {
    return [];
  }

  restore(records: readonly MemberRecord[], now: number): void {
    for (const r of records) {
      if (r.node === this.name || this.table.has(r.node)) continue;
      this.table.set(r.node, { addr: r.addr, incarnation: r.incarnation, status: r.status, changedAt: now });
    }
  }

  members(): MemberView[] {
    return [...this.table.keys()].map((n) => this.member(n) as MemberView);
  }

  member(name: string): MemberView | undefined {
    const e = this.table.get(name);
    if (e === undefined) return undefined;
    return { name, host: e.addr.host, port: e.addr.port, incarnation: e.incarnation, status: e.status, state: EMPTY, changedAt: e.changedAt };
  }

  statusOf(name: string): MemberStatus | undefined {
    return this.table.get(name)?.status;
  }

  private recs(): [string, Address, number, MemberStatus][] {
    return [...this.table].map(([n, e]) => [n, e.addr, e.incarnation, e.status]);
  }

  private merge(recs: [string, Address, number, MemberStatus][], now: number, spread: boolean): void {
    const fresh: [string, Address, number, MemberStatus][] = [];
    for (const r of recs) {
      const [name, addr, inc, status] = r;
      if (name === this.name) continue;
      const e = this.table.get(name);
      if (e !== undefined && (inc < e.incarnation || (inc === e.incarnation && RANK[status] <= RANK[e.status]))) continue;
      const next: Entry = { addr, incarnation: inc, status, changedAt: now };
      this.table.set(name, next);
      fresh.push(r);
      const member = this.member(name) as MemberView;
      if (e === undefined && status === 'alive') this.out.push({ type: 'emit', event: { type: 'member-join', member } });
      else if (status === 'dead') this.out.push({ type: 'emit', event: { type: 'member-dead', member, from: this.name } });
      else if (status === 'left') this.out.push({ type: 'emit', event: { type: 'member-leave', member } });
    }
    if (spread && fresh.length > 0) {
      for (let k = 0; k < 3; k++) {
        const t = this.randomAlive();
        if (t !== undefined) this.send((this.table.get(t) as Entry).addr, { t: 'gossip', recs: fresh }, 'datagram');
      }
    }
  }

  private randomAlive(): string | undefined {
    const alive: string[] = [];
    for (const [n, e] of this.table) if (n !== this.name && e.status === 'alive') alive.push(n);
    return alive[this.random.int(alive.length)];
  }

  private send(to: Address, p: Packet, channel: Channel): void {
    this.out.push({ type: 'send', to, packet: enc.encode(JSON.stringify(p)), channel });
  }

  private flush(): Effect[] {
    const out = this.out;
    this.out = [];
    return out;
  }
}

export const fakeFactory = (config: SimMemberConfig): SimMember => new FakeMembership(config);
