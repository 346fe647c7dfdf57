/**
 * The member table: every known member (self included) by name, in a shuffled round-robin probe
 * order, with counts per status. Entries are small fixed-shape objects; at 10,000 nodes a
 * simulation holds 10^8 of them, so nothing here is per-entry that need not be.
 */
import type { Address, MemberState, MemberStatus } from '../wire/messages.js';
import type { MemberView, Random } from './types.js';
import { shuffleInPlace } from '../util/random.js';

/** Lifeguard suspicion bookkeeping, kept beside the table only while a member is suspect. */
export interface Suspicion {
  readonly incarnation: number;
  /** Who raised it first (does not count as a confirmation). */
  readonly from: string;
  /** Independent confirmers seen so far. */
  readonly confirmers: Set<string>;
  readonly startedAt: number;
  readonly minMs: number;
  readonly maxMs: number;
  /** Confirmations after which the timeout is at its minimum. */
  readonly expected: number;
  /** Identifies the live suspect-timeout timer; older timers are stale. */
  token: number;
}

export class Member {
  name: string;
  /** Shared with the record it came from where possible (a simulator seeds 10^8 entries). */
  addr: Address;
  incarnation: number;
  status: MemberStatus;
  state: MemberState;
  changedAt: number;

  constructor(name: string, addr: Address, incarnation: number, status: MemberStatus, state: MemberState, changedAt: number) {
    this.name = name;
    this.addr = addr;
    this.incarnation = incarnation;
    this.status = status;
    this.state = state;
    this.changedAt = changedAt;
  }

  view(): MemberView {
    return {
      name: this.name,
      host: this.addr.host,
      port: this.addr.port,
      incarnation: this.incarnation,
      status: this.status,
      state: this.state,
      changedAt: this.changedAt,
    };
  }
}

export interface StatusCounts {
  alive: number;
  suspect: number;
  dead: number;
  left: number;
}

export class MemberTable {
  private readonly byName = new Map<string, Member>();
  /** Probe order; includes self and tombstones, which the probe skips. */
  private order: Member[] = [];
  private probeIndex = 0;
  private readonly dead = new Set<Member>();
  private readonly left = new Set<Member>();
  readonly counts: StatusCounts = { alive: 0, suspect: 0, dead: 0, left: 0 };
  private readonly random: Random;

  constructor(random: Random) {
    this.random = random;
  }

  get size(): number {
    return this.byName.size;
  }

  /** Alive and suspect members: the ones taking part (self included). */
  get active(): number {
    return this.counts.alive + this.counts.suspect;
  }

  get(name: string): Member | undefined {
    return this.byName.get(name);
  }

  /** Adds a member at a random position of the probe order (so it is probed within one round). */
  add(m: Member): void {
    this.byName.set(m.name, m);
    this.counts[m.status]++;
    this.track(m);
    const n = this.order.length;
    this.order.push(m);
    if (n > 0) {
      const offset = this.random.int(n + 1);
      const displaced = this.order[offset] as Member;
      this.order[offset] = m;
      this.order[n] = displaced;
    }
  }

  setStatus(m: Member, status: MemberStatus, now: number): void {
    if (m.status === status) return;
    this.counts[m.status]--;
    this.untrack(m);
    m.status = status;
    m.changedAt = now;
    this.counts[status]++;
    this.track(m);
  }

  private track(m: Member): void {
    if (m.status === 'dead') this.dead.add(m);
    else if (m.status === 'left') this.left.add(m);
  }

  private untrack(m: Member): void {
    if (m.status === 'dead') this.dead.delete(m);
    else if (m.status === 'left') this.left.delete(m);
  }

  /** Removes a member entirely (reaping a tombstone). O(n), and rare. */
  remove(m: Member): void {
    if (this.byName.get(m.name) !== m) return;
    this.byName.delete(m.name);
    this.counts[m.status]--;
    this.untrack(m);
    const i = this.order.indexOf(m);
    if (i >= 0) {
      this.order.splice(i, 1);
      if (i < this.probeIndex) this.probeIndex--;
    }
  }

  /**
   * The next member to probe: round-robin over the order, skipping `self`, dead and left members;
   * a new round reshuffles. Null when there is nobody to probe.
   */
  nextProbeTarget(self: Member): Member | null {
    const n = this.order.length;
    for (let checked = 0; checked < n; checked++) {
      if (this.probeIndex >= n) {
        shuffleInPlace(this.order, this.random);
        this.probeIndex = 0;
      }
      const m = this.order[this.probeIndex++] as Member;
      if (m === self || m.status === 'dead' || m.status === 'left') continue;
      return m;
    }
    return null;
  }

  /**
   * Up to `k` distinct random members accepted by `accept`, found by bounded random sampling
   * (at most 3 × size draws, as memberlist does), so the cost does not grow with the table when
   * most members qualify.
   */
  randomMembers(k: number, accept: (m: Member) => boolean): Member[] {
    const out: Member[] = [];
    const n = this.order.length;
    if (k <= 0 || n === 0) return out;
    const attempts = 3 * n;
    for (let i = 0; i < attempts && out.length < k; i++) {
      const m = this.order[this.random.int(n)] as Member;
      if (!accept(m) || out.includes(m)) continue;
      out.push(m);
    }
    return out;
  }

  /** A random dead (not left) member accepted by `accept`, or null. */
  randomDead(accept: (m: Member) => boolean): Member | null {
    const n = this.dead.size;
    if (n === 0) return null;
    let skip = this.random.int(n);
    let fallback: Member | null = null;
    for (const m of this.dead) {
      if (!accept(m)) continue;
      fallback = m;
      if (skip-- <= 0) return m;
    }
    return fallback;
  }

  /** Dead and left members (tombstones), for reaping. */
  tombstones(): Member[] {
    return [...this.dead, ...this.left];
  }

  values(): IterableIterator<Member> {
    return this.byName.values();
  }
}
