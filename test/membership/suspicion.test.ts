import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  armSuspicion,
  confirmSuspicion,
  remainingSuspicionMs,
  startSuspicion,
  suspicionExpiry,
  suspicionTimeoutOf,
  Suspicions,
  type Suspicion,
} from '../../src/membership/suspicion.js';
import { expectedConfirmations, stallLatenessMs, suspicionMinTimeoutMs, suspicionTimeoutMs } from '../../src/membership/math.js';
import { BroadcastQueue } from '../../src/membership/broadcast-queue.js';
import { newCounters } from '../../src/membership/counters.js';
import { MemberTable } from '../../src/membership/member-table.js';
import { resolveOptions } from '../../src/membership/options.js';
import { Outbox } from '../../src/membership/outbox.js';
import type { Effect } from '../../src/membership/types.js';
import { SeededRandom } from '../../src/util/random.js';

/** A suspicion raised by 'a' at t = 1000, 2 s to 30 s, waiting for `expected` confirmations. */
function suspicion(expected = 3, confirmers: readonly string[] = []): Suspicion {
  const s = startSuspicion('a', 7, 2000, 30_000, expected, 1000);
  for (const c of confirmers) confirmSuspicion(s, c, 1000);
  return s;
}

describe('Lifeguard suspicion', () => {
  it('starts at the maximum timeout, or at the minimum when no confirmation is expected', () => {
    const s = suspicion();
    expect(s).toMatchObject({ incarnation: 7, from: 'a', startedAt: 1000, minMs: 2000, maxMs: 30_000, expected: 3, token: 0 });
    expect(s.confirmers.size).toBe(0);
    expect(suspicionTimeoutOf(s)).toBe(30_000);
    expect(suspicionTimeoutOf(suspicion(0))).toBe(2000);
  });

  it.each([
    // confirmations, elapsed ms, remaining ms (as memberlist's remainingSuspicionTime: 2 s..30 s, k = 3)
    [0, 0, 30_000],
    [0, 29_000, 1000],
    [1, 2000, 14_000], // log 2 / log 4 = 1/2 of the way: 16 s
    [2, 3000, 4810], // floor(30000 − 28000 × log 3 / log 4) = 7810
    [3, 1000, 1000], // at the minimum
    [3, 4000, -2000], // run out: negative, the caller fires at once
  ])('after %i confirmations and %i ms, %i ms remain', (n, elapsed, remaining) => {
    const s = suspicion(3, ['b', 'c', 'd'].slice(0, n));
    expect(s.confirmers.size).toBe(n);
    expect(remainingSuspicionMs(s, 1000 + elapsed)).toBe(remaining);
  });

  it.each([
    // confirmers so far, the new one, what confirm returns at t = 3000 (null: refused)
    ['a new independent accuser', [], 'b', 14_000],
    ['the original accuser (its own suspicion gossiped back)', [], 'a', null],
    ['a repeat confirmer', ['b'], 'b', null],
    ['a second new accuser', ['b'], 'c', 7810 - 2000],
    ['a confirmation beyond the expected number', ['b', 'c', 'd'], 'e', null],
  ] as const)('confirm by %s', (_what, before, from, result) => {
    const s = suspicion(3, before);
    expect(confirmSuspicion(s, from, 3000)).toBe(result);
    const counted = result === null ? before : [...before, from];
    expect([...s.confirmers]).toEqual(counted);
  });

  it('refuses every confirmation when none is expected', () => {
    const s = suspicion(0);
    expect(confirmSuspicion(s, 'b', 1000)).toBeNull();
    expect(s.confirmers.size).toBe(0);
  });

  it('returns no negative remaining time for a confirmation that comes after the new timeout', () => {
    const s = suspicion(3, ['b', 'c']);
    expect(confirmSuspicion(s, 'd', 1000 + 50_000)).toBe(0);
  });

  it('arms a timer: the new token is the live one and the earlier is stale', () => {
    const s = suspicion();
    armSuspicion(s, 1, 30_000, 1000);
    expect(s).toMatchObject({ token: 1, dueAt: 31_000 });
    armSuspicion(s, 2, 4000, 5000);
    expect(s).toMatchObject({ token: 2, dueAt: 9000 });
    expect(suspicionExpiry(s, 1, 9000, 500)).toBe('stale');
    expect(suspicionExpiry(s, 2, 9000, 500)).toBe('dead');
  });

  it.each([
    // token fired, fired at (due 10,000), probe timeout, decision
    [4, 10_000, 500, 'stale'],
    [5, 10_000, 500, 'dead'], // on time
    [5, 9000, 500, 'dead'], // early (a runtime's timer granularity): not a stall
    [5, 10_050, 500, 'dead'], // late by exactly the allowed 50 ms
    [5, 10_051, 500, 'defer'], // later than that: this node was stalled
    [5, 12_000, 500, 'defer'],
    [5, 10_010, 50, 'dead'], // the allowance is at least 10 ms
    [5, 10_011, 50, 'defer'],
  ] as const)('a timer with token %i firing at %i (probe timeout %i ms) means %s', (token, at, probeTimeoutMs, decision) => {
    const s = suspicion();
    armSuspicion(s, 5, 4000, 6000);
    expect(suspicionExpiry(s, token, at, probeTimeoutMs)).toBe(decision);
  });

  it('agrees with math.ts: each confirmation moves the deadline to the start plus suspicionTimeoutMs', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }), // members
        fc.integer({ min: 1, max: 8 }), // suspicionMult
        fc.integer({ min: 1, max: 6 }), // suspicionMaxTimeoutMult
        fc.integer({ min: 100, max: 5000 }), // probe interval
        fc.integer({ min: 0, max: 1_000_000 }), // start
        fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 10 }), // gaps between confirmations
        (n, mult, maxMult, interval, start, gaps) => {
          const minMs = suspicionMinTimeoutMs(mult, n, interval);
          const maxMs = maxMult * minMs;
          const k = expectedConfirmations(mult, n);
          const s = startSuspicion('origin', 0, minMs, maxMs, k, start);
          expect(suspicionTimeoutOf(s)).toBe(suspicionTimeoutMs(minMs, maxMs, 0, k));
          let now = start;
          for (let i = 0; i < gaps.length; i++) {
            now += gaps[i] as number;
            const remaining = confirmSuspicion(s, `c${i}`, now);
            if (i >= k) {
              expect(remaining).toBeNull();
              continue;
            }
            const timeout = suspicionTimeoutMs(minMs, maxMs, i + 1, k);
            expect(suspicionTimeoutOf(s)).toBe(timeout);
            expect(remainingSuspicionMs(s, now)).toBe(start + timeout - now);
            expect(remaining).toBe(Math.max(0, start + timeout - now));
          }
          expect(s.confirmers.size).toBe(Math.min(k, gaps.length));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('agrees with math.ts on when a late timer is a stall', () => {
    for (const probeTimeoutMs of [50, 100, 500, 1000, 3000]) {
      const s = suspicion();
      armSuspicion(s, 1, 1000, 0);
      const allowed = stallLatenessMs(probeTimeoutMs);
      expect(suspicionExpiry(s, 1, 1000 + allowed, probeTimeoutMs)).toBe('dead');
      expect(suspicionExpiry(s, 1, 1000 + allowed + 1, probeTimeoutMs)).toBe('defer');
    }
  });
});

describe('the suspicions a node holds', () => {
  // lan: probe interval 1000 ms, timeout 500 ms, suspicionMult 4, max 6 × min.
  const opts = resolveOptions();
  function keeper(): { suspicions: Suspicions; out: Outbox } {
    const out = new Outbox(opts, new MemberTable(new SeededRandom(1)), new BroadcastQueue(), newCounters());
    return { suspicions: new Suspicions(opts, out), out };
  }
  const timers = (effects: Effect[]): [unknown, number][] =>
    effects.flatMap((e) => (e.type === 'schedule' ? [[e.timer, e.delayMs] as [unknown, number]] : []));

  it('arms a timer at the longest timeout for the cluster size, and a nearer one per confirmation', () => {
    const { suspicions, out } = keeper();
    suspicions.start('m', 3, 'a', 100, 1000); // min 4 × 2 × 1000 = 8 s, max 48 s, 2 expected
    expect(timers(out.flush())).toEqual([[{ kind: 'suspect-timeout', member: 'm', incarnation: 3, token: 1 }, 48_000]]);
    expect(suspicions.confirm('m', 'a', 2000)).toBe(false); // the accuser itself
    expect(suspicions.confirm('m', 'b', 2000)).toBe(true);
    expect(suspicions.confirm('m', 'b', 2000)).toBe(false);
    expect(suspicions.confirm('m', 'c', 3000)).toBe(true);
    expect(suspicions.confirm('m', 'd', 3000)).toBe(false); // beyond the two expected
    expect(suspicions.confirm('other', 'b', 3000)).toBe(false); // nobody suspects it
    const b = suspicionTimeoutMs(8000, 48_000, 1, 2);
    expect(timers(out.flush())).toEqual([
      [{ kind: 'suspect-timeout', member: 'm', incarnation: 3, token: 2 }, 1000 + b - 2000],
      [{ kind: 'suspect-timeout', member: 'm', incarnation: 3, token: 3 }, 1000 + 8000 - 3000],
    ]);
    expect(suspicions.expire('m', 2, 9000)).toBe('stale');
    expect(suspicions.expire('m', 3, 6000)).toBe('dead');
  });

  it('re-arms a late timer one probe timeout on, and forgets a deleted suspicion', () => {
    const { suspicions, out } = keeper();
    suspicions.start('m', 0, 'a', 3, 0); // too few members to confirm: the minimum, 4 s
    expect(timers(out.flush())).toEqual([[{ kind: 'suspect-timeout', member: 'm', incarnation: 0, token: 1 }, 4000]]);
    expect(suspicions.expire('m', 1, 6000)).toBe('defer');
    expect(timers(out.flush())).toEqual([[{ kind: 'suspect-timeout', member: 'm', incarnation: 0, token: 2 }, 500]]);
    expect(suspicions.expire('m', 2, 6500)).toBe('dead');
    suspicions.delete('m');
    expect(suspicions.expire('m', 2, 6500)).toBe('stale');
    expect(out.flush()).toEqual([]);
  });
});
