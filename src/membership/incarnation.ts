/**
 * Incarnation numbers compared in serial-number arithmetic (RFC 1982, SERIAL_BITS = 32), as DNS
 * compares zone serials: `a` is newer than `b` when (a - b) mod 2^32 lies in 1 .. 2^31 - 1.
 *
 * Why: with a plain `>` there is a largest incarnation, and whoever gossips a member at
 * 0xFFFFFFFF (a forged alive, suspect, dead or leave, with or without a key) locks that member out
 * for good: it can never outbid the claim, not even after a restart. In serial order there is no
 * largest value. A claim at `x` is outbid by `x + 1` (wrapping), and a claim far "above" a member's
 * real incarnation (2^31 or more ahead) reads as older and is ignored. Within any window of 2^31
 * consecutive incarnations (a node bumps it once per refutation or state change, so at one change
 * a second that is 68 years) the order is the ordinary total order, which is all that merging,
 * refuting and the precedence rules need.
 */

const HALF = 0x8000_0000;

/** True when incarnation `a` is newer than `b` (serial order). At exactly 2^31 apart neither is. */
export function newer(a: number, b: number): boolean {
  const d = (a - b) >>> 0;
  return d !== 0 && d < HALF;
}

/** The incarnation after `a` (wraps from 0xFFFFFFFF to 0). */
export function nextIncarnation(a: number): number {
  return (a + 1) >>> 0;
}

/** The newer of two incarnations (serial order; `a` when neither is newer). */
export function newest(a: number, b: number): number {
  return newer(b, a) ? b : a;
}
