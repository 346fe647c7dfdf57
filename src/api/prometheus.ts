/**
 * Prometheus text exposition (format 0.0.4) of the agent's counter catalog (agent/counters.ts):
 * each family with its HELP and TYPE as declared there, one sample per series, plus `hearsay_info`
 * (constant 1, labelled with what identifies this agent). No client library: the format is a few
 * lines of text and the values are already counted.
 */
import { METRICS, type MetricFamily } from '../agent/counters.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Renders every catalog family from `values` (keyed as agent.counters()); `info` labels hearsay_info. */
export function renderMetrics(values: Readonly<Record<string, number>>, info: Readonly<Record<string, string>>, families: readonly MetricFamily[] = METRICS): string {
  const lines: string[] = [
    '# HELP hearsay_info Constant 1, labelled with this node name, timing profile and version.',
    '# TYPE hearsay_info gauge',
    `hearsay_info${formatLabels(info)} 1`,
  ];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`);
    lines.push(`# TYPE ${f.name} ${f.kind}`);
    for (const s of f.series) {
      const v = values[s.key];
      if (v !== undefined) lines.push(`${f.name}${formatLabels(s.labels)} ${formatValue(v)}`);
    }
  }
  return `${lines.join('\n')}\n`;
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
