/** The state layer's bounds (src/membership/state-bounds.ts), computed by hand for a few meshes. */
import { describe, expect, it } from 'vitest';
import { bigJoinBoundMs, smallChangeBoundMs, stateDisseminationMs, stateFetchChainMs, stateRepairMs, type StateBoundInputs } from '../../src/membership/state-bounds.js';

const lan = (n: number, syncRounds = 0): StateBoundInputs => ({
  n,
  retransmitMult: 4,
  gossipIntervalMs: 200,
  oneWayMs: 5,
  streamTripMs: 10,
  retryMs: 1000,
  tries: 3,
  syncIntervalMs: 2000,
  syncRounds,
});

describe('state bounds', () => {
  // R = 4 × ⌈log10(N + 1)⌉: 8 at 10, 12 at 100, 16 at 1,000, 20 at 10,000.
  it.each([
    // n, D = R × 205 + 200, FETCH = R × 15, big join = 50 + D + FETCH
    [10, 1840, 120, 2010],
    [100, 2660, 180, 2890],
    [1000, 3480, 240, 3770],
    [10_000, 4300, 300, 4650],
  ])('N = %i: D = %i ms, fetch chain = %i ms, big join = %i ms (no loss)', (n, d, fetch, join) => {
    expect(stateDisseminationMs(lan(n))).toBe(d);
    expect(stateFetchChainMs(lan(n))).toBe(fetch);
    expect(stateRepairMs(lan(n))).toBe(0);
    expect(bigJoinBoundMs(lan(n))).toBe(join);
    expect(smallChangeBoundMs(lan(n))).toBe(d);
  });

  it('adds the repair on a lossy network: three retries, then summary rounds and one exchange', () => {
    // 3 × (1000 + 5 + 10) + 4 × 2000 + 3 × 10
    expect(stateRepairMs(lan(10, 4))).toBe(11_075);
    expect(bigJoinBoundMs(lan(10, 4))).toBe(2010 + 11_075);
    expect(smallChangeBoundMs(lan(10, 4))).toBe(1840 + 15 + 11_075);
  });

  it('meets the issue-13 target at N = 1,000 on lan with a 10 ms stream trip: a 500-instance join within 5 s', () => {
    expect(bigJoinBoundMs(lan(1000))).toBeLessThanOrEqual(5000);
  });
});
