/**
 * Lifeguard's local health multiplier: a score in [0, max − 1] that rises when this node misses
 * acks or nacks it should have had (a sign that it is the slow one) and falls with each successful
 * probe. Intervals and timeouts are multiplied by score + 1, so a struggling node probes less
 * eagerly and is slower to accuse others.
 */
import { scaleByHealth } from './math.js';

export class Awareness {
  private score = 0;
  private readonly max: number;

  constructor(maxMultiplier: number) {
    this.max = maxMultiplier;
  }

  /** Applies a delta, clamped to [0, max − 1]; returns the new score. */
  apply(delta: number): number {
    const next = Math.min(this.max - 1, Math.max(0, this.score + delta));
    this.score = next;
    return next;
  }

  get healthScore(): number {
    return this.score;
  }

  scale(ms: number): number {
    return scaleByHealth(ms, this.score);
  }
}
