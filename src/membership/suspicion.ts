/**
 * Lifeguard suspicion, as data and functions (the shape of memberlist's suspicion.go): a suspicion
 * starts at its longest timeout and shortens, logarithmically, with each independent confirmation
 * until the expected number of them brings it to its shortest (math.ts, `suspicionTimeoutMs`).
 *
 * The functions read no clock and start no timer: each takes `now`, and the caller schedules the
 * `suspect-timeout` timer a function tells it to. A suspicion names its live timer by a token; a
 * timer with another token is stale. `Suspicions`, at the end, is how Membership uses them: one
 * record per suspect member, its timers scheduled through the node's outbox.
 */
import { expectedConfirmations, stallLatenessMs, suspicionMinTimeoutMs, suspicionTimeoutMs } from './math.js';
import type { ResolvedOptions } from './options.js';
import type { Outbox } from './outbox.js';

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
  /** The live suspect-timeout timer: its token (0 before the first is armed) and when it is due. */
  token: number;
  dueAt: number;
}

/** What to do when a suspect-timeout timer fires. */
export type SuspicionExpiry =
  /** The timer is not the suspicion's live one (a confirmation or a deferral armed a newer): nothing. */
  | 'stale'
  /** It fired too late, so this node was stalled: give queued refutations one probe timeout. */
  | 'defer'
  /** It fired on time: the member is dead. */
  | 'dead';

/**
 * A suspicion of a member at `incarnation` raised by `from` at `now`; its timer is not armed yet
 * (`suspicionTimeoutOf` gives the first delay, `armSuspicion` records it).
 */
export function startSuspicion(from: string, incarnation: number, minMs: number, maxMs: number, expected: number, now: number): Suspicion {
  return { incarnation, from, confirmers: new Set(), startedAt: now, minMs, maxMs, expected, token: 0, dueAt: now };
}

/** The whole timeout, from the start, at the confirmations seen so far. */
export function suspicionTimeoutOf(s: Suspicion): number {
  return suspicionTimeoutMs(s.minMs, s.maxMs, s.confirmers.size, s.expected);
}

/**
 * What is left of the timeout at `now` (memberlist's remainingSuspicionTime); negative once it has
 * run out.
 */
export function remainingSuspicionMs(s: Suspicion, now: number): number {
  return s.startedAt + suspicionTimeoutOf(s) - now;
}

/**
 * Counts `from` as an independent confirmation and returns the new remaining time (never below 0:
 * the timer is due at once). Returns null, changing nothing, for the original accuser, a repeat
 * confirmer, and any confirmation beyond the expected number (the timeout is at its minimum).
 */
export function confirmSuspicion(s: Suspicion, from: string, now: number): number | null {
  if (from === s.from || s.confirmers.has(from) || s.confirmers.size >= s.expected) return null;
  s.confirmers.add(from);
  return Math.max(0, remainingSuspicionMs(s, now));
}

/** Records the timer the caller schedules (`token`, due `delayMs` after `now`) as the live one. */
export function armSuspicion(s: Suspicion, token: number, delayMs: number, now: number): void {
  s.token = token;
  s.dueAt = now + delayMs;
}

/**
 * The decision when the timer `token` fires at `now`. A timer that fires more than
 * `stallLatenessMs(probeTimeoutMs)` after it was due means this node was stalled (a long GC pause,
 * a starved CPU, SIGSTOP): an event loop runs overdue timers before it reads what arrived during
 * the stall, and the refutation may be among it, so the verdict is deferred by one probe timeout
 * (`armSuspicion` again with `probeTimeoutMs`). Only a timer that fires on time declares death.
 */
export function suspicionExpiry(s: Suspicion, token: number, now: number, probeTimeoutMs: number): SuspicionExpiry {
  if (s.token !== token) return 'stale';
  return now - s.dueAt > stallLatenessMs(probeTimeoutMs) ? 'defer' : 'dead';
}

/**
 * The suspicions a node holds, one per suspect member, each with its live timer: the functions
 * above applied with the node's options and outbox. The member table, the counters and what a
 * verdict means stay with Membership.
 */
export class Suspicions {
  private readonly byMember = new Map<string, Suspicion>();
  private token = 0;
  private readonly opts: ResolvedOptions;
  private readonly out: Outbox;

  constructor(opts: ResolvedOptions, out: Outbox) {
    this.opts = opts;
    this.out = out;
  }

  /**
   * Suspects `member` at `incarnation` on `from`'s word, with the timeouts for a cluster of `active`
   * members (math.ts), and arms its timer at the longest.
   */
  start(member: string, incarnation: number, from: string, active: number, now: number): void {
    const o = this.opts;
    const minMs = suspicionMinTimeoutMs(o.suspicionMult, active, o.probeIntervalMs);
    const expected = expectedConfirmations(o.suspicionMult, active);
    const s = startSuspicion(from, incarnation, minMs, o.suspicionMaxTimeoutMult * minMs, expected, now);
    this.byMember.set(member, s);
    this.arm(member, s, suspicionTimeoutOf(s), now);
  }

  /** An independent confirmation: true when it counted (and moved the timer nearer). */
  confirm(member: string, from: string, now: number): boolean {
    const s = this.byMember.get(member);
    if (s === undefined) return false;
    const remaining = confirmSuspicion(s, from, now);
    if (remaining === null) return false;
    this.arm(member, s, remaining, now);
    return true;
  }

  /** The verdict on `member`'s timer `token` firing at `now`; a deferral re-arms it one probe timeout on. */
  expire(member: string, token: number, now: number): SuspicionExpiry {
    const s = this.byMember.get(member);
    if (s === undefined) return 'stale';
    const verdict = suspicionExpiry(s, token, now, this.opts.probeTimeoutMs);
    if (verdict === 'defer') this.arm(member, s, this.opts.probeTimeoutMs, now);
    return verdict;
  }

  /** Forgets `member`'s suspicion (refuted, dead, left or reaped); its timer goes stale. */
  delete(member: string): void {
    this.byMember.delete(member);
  }

  private arm(member: string, s: Suspicion, delayMs: number, now: number): void {
    const token = ++this.token;
    armSuspicion(s, token, delayMs, now);
    this.out.schedule({ kind: 'suspect-timeout', member, incarnation: s.incarnation, token }, delayMs);
  }
}
