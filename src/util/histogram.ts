/**
 * A Prometheus-style histogram: fixed upper bounds chosen when it is made, a count per bucket, the
 * sum and the count of every observation. Pure and small (one Float64Array), so each part that
 * times something keeps its own and /metrics reads a snapshot of it. `LabelledHistograms` is a set
 * of them keyed by label values, for families whose labels are known only when something happens.
 */

/** What /metrics renders: cumulative counts per bound, as the text format's `_bucket{le=...}`. */
export interface HistogramSnapshot {
  /** The finite upper bounds, increasing (`+Inf` is implied). */
  readonly bounds: readonly number[];
  /** Observations <= bounds[i], for each i, then all of them (the `+Inf` bucket): bounds.length + 1 entries. */
  readonly cumulative: readonly number[];
  readonly sum: number;
  readonly count: number;
}

/** Throws a RangeError unless `bounds` are finite and strictly increasing, at least one. */
export function checkBounds(bounds: readonly number[]): void {
  if (bounds.length === 0) throw new RangeError('a histogram needs at least one bucket bound');
  for (let i = 0; i < bounds.length; i++) {
    const b = bounds[i] as number;
    if (!Number.isFinite(b)) throw new RangeError(`histogram bound ${b} is not finite (+Inf is implied)`);
    if (i > 0 && b <= (bounds[i - 1] as number)) throw new RangeError(`histogram bounds must increase: ${bounds.join(', ')}`);
  }
}

export class Histogram {
  readonly bounds: readonly number[];
  /** Observations in (bounds[i-1], bounds[i]]; the last slot holds those above every bound. */
  private readonly counts: Float64Array;
  private total = 0;
  private n = 0;

  /** Throws on bounds that are empty, not finite or not strictly increasing (a programming error). */
  constructor(bounds: readonly number[]) {
    checkBounds(bounds);
    this.bounds = Object.freeze([...bounds]);
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** Counts `value` in the first bucket whose bound is >= it. NaN is ignored (it belongs in no bucket). */
  observe(value: number): void {
    if (Number.isNaN(value)) return;
    const b = this.bounds;
    // Binary search for the first bound >= value.
    let lo = 0;
    let hi = b.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((b[mid] as number) >= value) hi = mid;
      else lo = mid + 1;
    }
    this.counts[lo] = (this.counts[lo] as number) + 1;
    this.total += value;
    this.n++;
  }

  get count(): number {
    return this.n;
  }

  get sum(): number {
    return this.total;
  }

  snapshot(): HistogramSnapshot {
    const cumulative: number[] = [];
    let acc = 0;
    for (const c of this.counts) {
      acc += c;
      cumulative.push(acc);
    }
    return { bounds: this.bounds, cumulative, sum: this.total, count: this.n };
  }
}

/** One labelled histogram of a LabelledHistograms. */
export interface LabelledSnapshot {
  readonly labels: Readonly<Record<string, string>>;
  readonly histogram: HistogramSnapshot;
}

/**
 * Histograms with one set of bounds, one per combination of label values, made on first use. The
 * caller bounds the label values (a route template, not a raw path); `labelNames` fixes their order.
 */
export class LabelledHistograms {
  private readonly series = new Map<string, { readonly labels: Readonly<Record<string, string>>; readonly histogram: Histogram }>();

  constructor(
    readonly labelNames: readonly string[],
    readonly bounds: readonly number[],
  ) {
    checkBounds(bounds);
  }

  observe(values: readonly string[], value: number): void {
    const key = JSON.stringify(values);
    let s = this.series.get(key);
    if (s === undefined) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((name, i) => (labels[name] = values[i] ?? ''));
      s = { labels: Object.freeze(labels), histogram: new Histogram(this.bounds) };
      this.series.set(key, s);
    }
    s.histogram.observe(value);
  }

  /** How many label combinations have been seen. */
  get size(): number {
    return this.series.size;
  }

  snapshot(): LabelledSnapshot[] {
    return [...this.series.values()].map((s) => ({ labels: s.labels, histogram: s.histogram.snapshot() }));
  }
}
