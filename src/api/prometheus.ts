/**
 * Prometheus text exposition (format 0.0.4) of the metrics catalog (agent/counters.ts): each family
 * with its HELP and TYPE as declared there, in catalog order; the series known in advance from
 * their keys, then the series made from data at scrape; a histogram as `_bucket{le=...}` lines
 * (cumulative, `+Inf` last), `_sum` and `_count`. No client library: the format is a few lines of
 * text, the values are already counted, and importing prom-client would cost more memory and
 * start-up time than this whole file (measured in the commit that added the histograms).
 */
import { METRICS, type MetricFamily } from '../agent/counters.js';
import type { HistogramSnapshot } from '../util/histogram.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** A series made from data at scrape: its labels and value. */
export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A histogram series made from data at scrape. */
export interface HistogramSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly histogram: HistogramSnapshot;
}

/** Everything one scrape shows. */
export interface MetricValues {
  /** Values of the catalog's counter and gauge series, by key (as agent.counters()). */
  readonly values: Readonly<Record<string, number>>;
  /** Snapshots of the catalog's histogram series, by key (as agent.histograms()). */
  readonly histograms?: Readonly<Record<string, HistogramSnapshot>>;
  /** Counter and gauge series made at scrape, by family name. */
  readonly samples?: Readonly<Record<string, readonly Sample[]>>;
  /** Histogram series made at scrape, by family name. */
  readonly histogramSamples?: Readonly<Record<string, readonly HistogramSample[]>>;
}

/** Renders every catalog family from `m`; a family without values still gets its HELP and TYPE. */
export function renderMetrics(m: MetricValues, families: readonly MetricFamily[] = METRICS): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`);
    lines.push(`# TYPE ${f.name} ${f.kind}`);
    if (f.kind === 'histogram') {
      for (const s of f.series) {
        const h = m.histograms?.[s.key];
        if (h !== undefined) renderHistogram(lines, f.name, s.labels, h);
      }
      for (const s of m.histogramSamples?.[f.name] ?? []) renderHistogram(lines, f.name, s.labels, s.histogram);
    } else {
      for (const s of f.series) {
        const v = m.values[s.key];
        if (v !== undefined) lines.push(`${f.name}${formatLabels(s.labels)} ${formatValue(v)}`);
      }
      for (const s of m.samples?.[f.name] ?? []) lines.push(`${f.name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function renderHistogram(lines: string[], name: string, labels: Readonly<Record<string, string>>, h: HistogramSnapshot): void {
  h.bounds.forEach((b, i) => lines.push(`${name}_bucket${formatLabels({ ...labels, le: formatValue(b) })} ${formatValue(h.cumulative[i] as number)}`));
  lines.push(`${name}_bucket${formatLabels({ ...labels, le: '+Inf' })} ${formatValue(h.count)}`);
  lines.push(`${name}_sum${formatLabels(labels)} ${formatValue(h.sum)}`);
  lines.push(`${name}_count${formatLabels(labels)} ${formatValue(h.count)}`);
}

function formatLabels(labels: Readonly<Record<string, string>>): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}
