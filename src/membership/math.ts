/**
 * The protocol's arithmetic, pure and apart so that it can be read and table-tested.
 * Formulas follow SWIM, Lifeguard and memberlist's tuned choices.
 */

/** Each change is sent at most retransmitMult × ceil(log10(n + 1)) times (n = members known). */
export function retransmitLimit(retransmitMult: number, n: number): number {
  return retransmitMult * Math.ceil(Math.log10(Math.max(0, n) + 1));
}

/**
 * The minimum suspicion timeout: suspicionMult × max(1, log10(n)) × probeIntervalMs, rounded to
 * whole milliseconds. Larger clusters need longer for a refutation to get through.
 */
export function suspicionMinTimeoutMs(suspicionMult: number, n: number, probeIntervalMs: number): number {
  const nodeScale = Math.max(1, Math.log10(Math.max(1, n)));
  return Math.round(suspicionMult * nodeScale * probeIntervalMs);
}

/**
 * Lifeguard's dynamic suspicion timeout. It starts at `maxMs` and falls logarithmically towards
 * `minMs` as independent confirmations arrive, reaching it at `expected` confirmations:
 *   timeout = max(minMs, maxMs − (maxMs − minMs) × log(c + 1) / log(k + 1)).
 * With `expected` = 0 there is nothing to wait for and the timeout is `minMs`.
 */
export function suspicionTimeoutMs(minMs: number, maxMs: number, confirmations: number, expected: number): number {
  if (expected <= 0) return minMs;
  const frac = Math.log(confirmations + 1) / Math.log(expected + 1);
  const raw = Math.floor(maxMs - frac * (maxMs - minMs));
  return Math.max(minMs, raw);
}

/**
 * How many independent confirmations a suspicion waits for: suspicionMult − 2, or 0 when there
 * are too few other members to confirm (n − 2 < k), as in memberlist.
 */
export function expectedConfirmations(suspicionMult: number, n: number): number {
  const k = suspicionMult - 2;
  return n - 2 < k ? 0 : Math.max(0, k);
}

/**
 * Push-pull interval stretched for large clusters so that full-state traffic stays bounded:
 * one more multiple of the base interval per doubling above 32 members (memberlist's rule).
 */
export function pushPullIntervalMs(baseMs: number, n: number): number {
  const threshold = 32;
  if (n <= threshold) return baseMs;
  const multiplier = Math.ceil(Math.log2(n) - Math.log2(threshold)) + 1;
  return baseMs * multiplier;
}

/** Lifeguard: an interval or timeout scaled by the local health score (0 is healthy). */
export function scaleByHealth(ms: number, healthScore: number): number {
  return ms * (healthScore + 1);
}

/**
 * How late a timer may fire before this node concludes it was stalled (paused, starved) rather
 * than merely jittered: a tenth of the probe timeout, at least 10 ms (50 ms on lan). A real event
 * loop is late by a few ms under load; a stall long enough to lose a refutation is far longer.
 */
export function stallLatenessMs(probeTimeoutMs: number): number {
  return Math.max(10, Math.round(probeTimeoutMs / 10));
}
