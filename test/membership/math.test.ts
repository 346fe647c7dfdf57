import { describe, expect, it } from 'vitest';
import {
  expectedConfirmations,
  pushPullIntervalMs,
  retransmitLimit,
  scaleByHealth,
  suspicionMinTimeoutMs,
  suspicionTimeoutMs,
} from '../../src/membership/math.js';

describe('protocol arithmetic', () => {
  it.each([
    [4, 0, 0],
    [4, 1, 4],
    [4, 9, 4],
    [4, 10, 8],
    [4, 99, 8],
    [4, 100, 12],
    [4, 1000, 16],
    [3, 10_000, 15],
  ])('retransmit limit with mult %i and %i members is %i', (mult, n, expected) => {
    expect(retransmitLimit(mult, n)).toBe(expected);
  });

  it.each([
    [4, 1, 1000, 4000],
    [4, 10, 1000, 4000],
    [4, 100, 1000, 8000],
    [4, 1000, 1000, 12_000],
    [4, 10_000, 1000, 16_000],
    [6, 50, 5000, Math.round(6 * Math.log10(50) * 5000)],
  ])('suspicion minimum with mult %i, %i members, %i ms interval is %i ms', (mult, n, interval, expected) => {
    expect(suspicionMinTimeoutMs(mult, n, interval)).toBe(expected);
  });

  it.each([
    // min, max, confirmations, expected confirmations, timeout
    [4000, 24_000, 0, 2, 24_000],
    [4000, 24_000, 1, 2, Math.floor(24_000 - (Math.log(2) / Math.log(3)) * 20_000)],
    [4000, 24_000, 2, 2, 4000],
    [4000, 24_000, 5, 2, 4000],
    [4000, 24_000, 0, 0, 4000],
  ])('suspicion timeout from %i..%i after %i of %i confirmations is %i ms', (min, max, c, k, expected) => {
    expect(suspicionTimeoutMs(min, max, c, k)).toBe(expected);
  });

  it('shrinks the suspicion timeout monotonically with confirmations', () => {
    let last = Number.POSITIVE_INFINITY;
    for (let c = 0; c <= 6; c++) {
      const t = suspicionTimeoutMs(5000, 30_000, c, 4);
      expect(t).toBeLessThanOrEqual(last);
      expect(t).toBeGreaterThanOrEqual(5000);
      last = t;
    }
  });

  it.each([
    [4, 1, 0],
    [4, 3, 0],
    [4, 4, 2],
    [4, 100, 2],
    [6, 5, 0],
    [6, 6, 4],
    [1, 100, 0],
  ])('expects %i-2 confirmations when possible (mult %i, %i members → %i)', (mult, n, expected) => {
    expect(expectedConfirmations(mult, n)).toBe(expected);
  });

  it.each([
    [30_000, 10, 30_000],
    [30_000, 32, 30_000],
    [30_000, 33, 60_000],
    [30_000, 64, 60_000],
    [30_000, 65, 90_000],
    [30_000, 1000, 30_000 * (Math.ceil(Math.log2(1000) - 5) + 1)],
  ])('push-pull interval %i ms stretches for %i members to %i ms', (base, n, expected) => {
    expect(pushPullIntervalMs(base, n)).toBe(expected);
  });

  it('scales intervals by the health score plus one', () => {
    expect(scaleByHealth(1000, 0)).toBe(1000);
    expect(scaleByHealth(1000, 7)).toBe(8000);
  });
});
