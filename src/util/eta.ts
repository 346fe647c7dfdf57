/**
 * The estimated time left of a run made of phases in a known order, each with an expected amount
 * of work (simulated milliseconds for `hearsay sim`, wall milliseconds for `hearsay cluster`).
 * The caller reports the work done and the wall time (this module reads no clock); the rate of
 * wall time per unit of work is measured, and a phase that finishes replaces its estimate.
 */
export class Eta {
  private readonly expected: number[];
  private phase = 0;
  private doneInPhase = 0;
  private workDone = 0;
  private readonly wallStart: number;
  private wallNow: number;

  /** `expected[i]`: the work phase i is expected to take (> 0); the first began at wall time `wallStartMs`. */
  constructor(expected: readonly number[], wallStartMs: number) {
    this.expected = expected.map((e) => Math.max(e, 1e-9));
    this.wallStart = wallStartMs;
    this.wallNow = wallStartMs;
  }

  /** Phases in all. */
  get total(): number {
    return this.expected.length;
  }

  /** The phase running now, from 1 (for "phase k/total"). */
  get current(): number {
    return Math.min(this.phase + 1, this.expected.length);
  }

  /** Phase `phase` (from 0) has done `done` units of work at wall time `wallMs`. */
  update(phase: number, done: number, wallMs: number): void {
    if (phase > this.phase) {
      this.workDone += this.doneInPhase;
      this.phase = phase;
      this.doneInPhase = 0;
    }
    this.doneInPhase = Math.max(this.doneInPhase, done);
    this.wallNow = wallMs;
  }

  /** Changes the expected work of a phase not yet started (e.g. once an earlier phase said more). */
  expect(phase: number, work: number): void {
    if (phase > this.phase && phase < this.expected.length) this.expected[phase] = Math.max(work, 1e-9);
  }

  /**
   * Wall milliseconds left, or undefined before any work was measured. A phase running past its
   * estimate is taken to need another quarter of what it has done.
   */
  remainingMs(): number | undefined {
    const work = this.workDone + this.doneInPhase;
    if (work <= 0) return undefined;
    const rate = (this.wallNow - this.wallStart) / work;
    const expectedNow = this.expected[this.phase] ?? 0;
    let left = Math.max(expectedNow - this.doneInPhase, 0.25 * this.doneInPhase, 0);
    for (let i = this.phase + 1; i < this.expected.length; i++) left += this.expected[i]!;
    return Math.max(0, left * rate);
  }
}

/** "ETA 7 s", "ETA 2 min 05 s", "ETA ?" (nothing measured yet). */
export function formatEta(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return 'ETA ?';
  const s = Math.ceil(ms / 1000);
  if (s < 60) return `ETA ${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `ETA ${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `ETA ${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}
