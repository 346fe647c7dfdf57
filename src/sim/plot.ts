/**
 * Convergence charts as SVG, rendered in Node with vega-lite + vega (no browser, no canvas):
 * the share of live nodes that know of an event over the seconds after it, one line per event,
 * like Serf's convergence simulator.
 */
import { compile, type TopLevelSpec } from 'vega-lite';
import { parse, View } from 'vega';

export interface ConvergenceSeries {
  /** The legend label, e.g. "join of n51". */
  readonly label: string;
  /** Milliseconds after the event and the share of live nodes that know, in [0, 1]. */
  readonly points: readonly { readonly ms: number; readonly share: number }[];
}

export interface PlotOptions {
  readonly title?: string;
  readonly subtitle?: string;
  /** @default 640 */
  readonly width?: number;
  /** @default 320 */
  readonly height?: number;
}

/** The vega-lite spec for a convergence chart (exported so that tests can inspect it). */
export function convergenceSpec(series: readonly ConvergenceSeries[], opts: PlotOptions = {}): TopLevelSpec {
  const values: { seconds: number; percent: number; event: string }[] = [];
  for (const s of series) {
    for (const p of s.points) values.push({ seconds: p.ms / 1000, percent: p.share * 100, event: s.label });
  }
  const title = opts.title ?? 'Convergence';
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: opts.subtitle === undefined ? title : { text: title, subtitle: opts.subtitle },
    width: opts.width ?? 640,
    height: opts.height ?? 320,
    background: 'white',
    data: { values },
    mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2 },
    encoding: {
      x: { field: 'seconds', type: 'quantitative', title: 'seconds after the event' },
      y: {
        field: 'percent',
        type: 'quantitative',
        title: '% of live nodes that know',
        scale: { domain: [0, 100] },
      },
      color: {
        field: 'event',
        type: 'nominal',
        title: null,
        sort: series.map((s) => s.label),
        legend: { orient: 'bottom-right' },
      },
    },
  };
}

/** Renders the chart to an SVG string. */
export async function renderConvergenceSvg(series: readonly ConvergenceSeries[], opts: PlotOptions = {}): Promise<string> {
  const vg = compile(convergenceSpec(series, opts)).spec;
  const view = new View(parse(vg), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
