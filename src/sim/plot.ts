/**
 * Convergence charts as SVG, rendered in Node with vega-lite + vega (no browser, no canvas): for
 * each event (a join, a crash, a leave) a panel of its own, with its own time axis, showing the
 * share of live nodes that know over the seconds after it, with the moments half and all of them
 * knew marked, and for a crash the suspicion floor (no node can declare it dead sooner).
 *
 * vega and vega-lite are optional peer dependencies: they are loaded (by `loadPlotLibraries`) only
 * when a chart is drawn, so the package runs without them and says how to add them.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { SpreadKind } from './scenario.js';

/** One event's spread: what one panel draws. */
export interface ConvergencePanel {
  readonly kind: SpreadKind;
  /** The node the event is about, e.g. "n51". */
  readonly subject: string;
  /** Milliseconds after the event and the share of live nodes that know, in [0, 1]: a step function. */
  readonly points: readonly { readonly ms: number; readonly share: number }[];
  /** When half / all of the live nodes knew (ms after the event); null if it never happened. */
  readonly halfMs: number | null;
  readonly allMs: number | null;
  /** The minimum suspicion timeout, for a crash: nobody can declare the node dead before it. */
  readonly floorMs?: number;
}

export interface PlotOptions {
  readonly title?: string;
  readonly subtitle?: string;
  /** Width of each panel's plot area. @default 640 */
  readonly width?: number;
  /** Height of each panel's plot area. @default 150 */
  readonly height?: number;
}

/**
 * The Okabe-Ito palette (Okabe & Ito 2008), distinguishable with every common colour-vision
 * deficiency; each series also has its own dash pattern, so the chart reads in grey too.
 */
export const OKABE_ITO = {
  black: '#000000',
  orange: '#E69F00',
  skyBlue: '#56B4E9',
  bluishGreen: '#009E73',
  yellow: '#F0E442',
  blue: '#0072B2',
  vermillion: '#D55E00',
  reddishPurple: '#CC79A7',
} as const;

/** Every series the chart draws, in legend order, with its colour and dash. */
export const SERIES = [
  { name: 'join', color: OKABE_ITO.blue, dash: [1, 0] },
  { name: 'crash', color: OKABE_ITO.vermillion, dash: [1, 0] },
  { name: 'leave', color: OKABE_ITO.bluishGreen, dash: [1, 0] },
  { name: 'half know', color: OKABE_ITO.orange, dash: [6, 3] },
  { name: 'all know', color: OKABE_ITO.black, dash: [2, 2] },
  { name: 'suspicion floor', color: OKABE_ITO.reddishPurple, dash: [8, 2, 2, 2] },
] as const;

const KIND_SERIES: Readonly<Record<SpreadKind, string>> = { join: 'join', dead: 'crash', leave: 'leave' };
const KIND_TITLE: Readonly<Record<SpreadKind, (subject: string) => string>> = {
  join: (s) => `join of ${s}: its alive reaches every node`,
  dead: (s) => `crash of ${s}: every node declares it dead`,
  leave: (s) => `leave of ${s}: every node lists it left`,
};
const KIND_AXIS: Readonly<Record<SpreadKind, string>> = { join: 'after the join', dead: 'after the crash', leave: 'after the leave' };

const FONT_SIZE = 11;
/** A generous estimate of a label's width in px (vega measures text only when it renders). */
const labelWidth = (text: string | readonly string[]): number =>
  Math.ceil(Math.max(...(typeof text === 'string' ? [text] : text).map((t) => t.length)) * FONT_SIZE * 0.62) + 8;

function fmtSeconds(ms: number): string {
  if (ms < 10) return `${ms.toFixed(ms < 1 ? 2 : 1)} ms`;
  const s = ms / 1000;
  return `${s < 10 ? s.toFixed(2) : s.toFixed(1)} s`;
}

interface Label {
  readonly time: number;
  readonly percent: number;
  /** One line, or several. */
  readonly text: string | readonly string[];
  readonly align: 'left' | 'right';
}

/** The colour and dash scales every layer shares, so that one legend explains both. */
interface SeriesScales {
  readonly color: { readonly domain: string[]; readonly range: string[] };
  readonly dash: { readonly domain: string[]; readonly range: number[][] };
}

/** One panel: the curve, the rules and their labels over the panel's own x scale. */
function panelSpec(p: ConvergencePanel, width: number, height: number, scales: SeriesScales): Record<string, unknown> {
  const series = KIND_SERIES[p.kind];
  const lastMs = p.points.length === 0 ? 0 : (p.points[p.points.length - 1] as { ms: number }).ms;
  // The time axis is in seconds, or in milliseconds when everything happened within 10 ms.
  const unitMs = Math.max(p.allMs ?? lastMs, p.floorMs ?? 0, p.halfMs ?? 0) < 10 ? 1 : 1000;
  const half = p.halfMs === null ? null : p.halfMs / unitMs;
  const all = p.allMs === null ? null : p.allMs / unitMs;
  const floor = p.floorMs === undefined ? null : p.floorMs / unitMs;
  const lastPoint = lastMs / unitMs;

  const halfText = half === null ? null : `half know ${fmtSeconds(half * unitMs)}`;
  const allText = all === null ? 'not all knew in the window' : `all know ${fmtSeconds(all * unitMs)}`;
  // The x domain ends far enough right of the all-know rule for its label, which sits to its right
  // (where the curve is at 100%, above it); the curve is cut there.
  const rightmost = Math.max(all ?? lastPoint, floor ?? 0, half ?? 0, 1e-5);
  // (The half-know label may have to go there too, under the all-know one.)
  const room = Math.min(0.6, (Math.max(labelWidth(allText), labelWidth(halfText ?? '')) + 8) / width);
  const xMax = Math.max(rightmost / (1 - room), rightmost * 1.15);
  const px = (time: number): number => (time / xMax) * width;

  const curve: { time: number; percent: number; series: string }[] = [];
  for (const pt of p.points) {
    if (pt.ms / unitMs > xMax) break;
    curve.push({ time: pt.ms / unitMs, percent: pt.share * 100, series });
  }
  const last = curve[curve.length - 1];
  if (last !== undefined && last.time < xMax) curve.push({ time: xMax, percent: last.percent, series });
  const rules: { time: number; series: string }[] = [];
  const labels: Label[] = [];
  if (floor !== null) {
    rules.push({ time: floor, series: 'suspicion floor' });
    const text = [`suspicion floor ${fmtSeconds(floor * unitMs)}:`, 'no node declares it', 'dead any sooner'];
    // Left of the floor the curve is at 0%: the label sits high up there (right of the rule, and
    // above the half-know label, if it does not fit).
    const fits = px(floor) >= labelWidth(text);
    labels.push({ time: floor, percent: fits ? 70 : 88, text, align: fits ? 'right' : 'left' });
  }
  if (half !== null && halfText !== null) {
    rules.push({ time: half, series: 'half know' });
    // Left of the half rule the curve is below 50%, so a label at 65% is clear of it. If it does
    // not fit there (or would run into the floor's rule), it goes right of the last rule, under
    // the all-know label, where the curve is at 100%.
    const leftEdge = px(half) - labelWidth(halfText);
    const fitsLeft = leftEdge >= 0 && (floor === null || floor > half || leftEdge >= px(floor) + 6);
    if (fitsLeft) labels.push({ time: half, percent: 65, text: halfText, align: 'right' });
    else labels.push({ time: Math.max(half, all ?? half), percent: 20, text: halfText, align: 'left' });
  }
  if (all !== null) {
    rules.push({ time: all, series: 'all know' });
    labels.push({ time: all, percent: 35, text: allText, align: 'left' });
  } else {
    labels.push({ time: xMax, percent: 35, text: allText, align: 'right' });
  }

  const x = { field: 'time', type: 'quantitative', scale: { domain: [0, xMax], nice: false, zero: true } } as const;
  const layers: Record<string, unknown>[] = [];
  if (floor !== null) {
    layers.push({
      description: 'the span before the suspicion floor',
      data: { values: [{ from: 0, to: floor }] },
      mark: { type: 'rect', color: OKABE_ITO.reddishPurple, opacity: 0.1 },
      encoding: { x: { field: 'from', type: 'quantitative' }, x2: { field: 'to' } },
    });
  }
  layers.push(
    {
      description: 'share of live nodes that know',
      data: { values: curve },
      mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2.5 },
      encoding: {
        x: { ...x, title: `${unitMs === 1 ? 'milliseconds' : 'seconds'} ${KIND_AXIS[p.kind]}`, axis: { grid: true, labelFontSize: FONT_SIZE, titleFontSize: FONT_SIZE } },
        y: {
          field: 'percent',
          type: 'quantitative',
          title: ['% of live nodes', 'that know'],
          scale: { domain: [0, 100], nice: false },
          axis: { values: [0, 50, 100], grid: true, labelFontSize: FONT_SIZE, titleFontSize: FONT_SIZE },
        },
        color: { field: 'series', type: 'nominal', scale: scales.color },
        strokeDash: { field: 'series', type: 'nominal', scale: scales.dash },
      },
    },
    {
      description: 'half know, all know and the suspicion floor',
      data: { values: rules },
      mark: { type: 'rule', strokeWidth: 1.5 },
      encoding: {
        x: { field: 'time', type: 'quantitative' },
        color: { field: 'series', type: 'nominal', scale: scales.color },
        strokeDash: { field: 'series', type: 'nominal', scale: scales.dash },
      },
    },
  );
  for (const align of ['left', 'right'] as const) {
    const values = labels.filter((l) => l.align === align);
    if (values.length === 0) continue;
    layers.push({
      description: `labels ${align === 'left' ? 'right of' : 'left of'} their rules`,
      data: { values },
      mark: { type: 'text', align, dx: align === 'left' ? 5 : -5, baseline: 'middle', fontSize: FONT_SIZE, color: OKABE_ITO.black },
      encoding: {
        x: { field: 'time', type: 'quantitative' },
        y: { field: 'percent', type: 'quantitative' },
        text: { field: 'text', type: 'nominal' },
      },
    });
  }
  return {
    title: { text: KIND_TITLE[p.kind](p.subject), anchor: 'start', fontSize: 12, limit: 0 },
    width,
    height,
    layer: layers,
    resolve: { scale: { x: 'shared' } },
  };
}

/** The vega-lite spec for a convergence chart, one panel per event (exported so tests can inspect it). */
export function convergenceSpec(panels: readonly ConvergencePanel[], opts: PlotOptions = {}): TopLevelSpec {
  const width = opts.width ?? 640;
  const height = opts.height ?? 150;
  const title = opts.title ?? 'Convergence';
  const used = new Set<string>();
  for (const p of panels) {
    used.add(KIND_SERIES[p.kind]);
    if (p.halfMs !== null) used.add('half know');
    if (p.allMs !== null) used.add('all know');
    if (p.floorMs !== undefined) used.add('suspicion floor');
  }
  const shown = SERIES.filter((s) => used.has(s.name));
  const domain = shown.map((s) => s.name);
  const scales: SeriesScales = {
    color: { domain, range: shown.map((s) => s.color) },
    dash: { domain, range: shown.map((s) => [...s.dash]) },
  };
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, anchor: 'start', fontSize: 14, limit: 0, offset: 16, ...(opts.subtitle === undefined ? {} : { subtitle: opts.subtitle, subtitleFontSize: 11 }) },
    background: 'white',
    padding: 12,
    // 'pad' grows the chart to hold everything drawn outside the plot areas: the legend is never cut.
    autosize: { type: 'pad' },
    spacing: 28,
    vconcat: panels.map((p) => panelSpec(p, width, height, scales)),
    resolve: { scale: { x: 'independent', color: 'shared', strokeDash: 'shared' }, legend: { color: 'shared', strokeDash: 'shared' } },
    config: {
      legend: {
        orient: 'bottom',
        direction: 'horizontal',
        title: null,
        labelLimit: 0,
        labelFontSize: FONT_SIZE,
        symbolType: 'stroke',
        symbolSize: 400,
        symbolStrokeWidth: 2.5,
        columns: shown.length,
        padding: 4,
      },
      view: { stroke: '#bbbbbb' },
    },
  };
  return spec as unknown as TopLevelSpec;
}

/** What `renderConvergenceSvg` needs of vega-lite and vega. */
export interface PlotLibraries {
  readonly compile: (spec: TopLevelSpec) => { spec: unknown };
  readonly parse: (spec: never) => unknown;
  readonly View: new (runtime: never, config: { renderer: 'none' }) => { toSVG(): Promise<string>; finalize(): void };
}

/** vega or vega-lite is not installed: the message says how to add them. */
export class PlotLibrariesMissingError extends Error {
  readonly missing: string;
  constructor(missing: string) {
    super(
      `--plot needs the optional packages vega and vega-lite, and ${missing} is not installed: ` +
        'run `npm install vega vega-lite` beside hearsay (with a global hearsay: `npm install -g vega vega-lite`)',
    );
    this.name = 'PlotLibrariesMissingError';
    this.missing = missing;
  }
}

type Importer = (specifier: string) => Promise<unknown>;
const nativeImport: Importer = (specifier) => import(specifier);

function isMissing(err: unknown, specifier: string): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  const message = String((err as { message?: unknown }).message ?? '');
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && message.includes(`'${specifier}'`);
}

/**
 * Loads vega-lite and vega (dynamic imports, so nothing else in hearsay needs them). Rejects with
 * PlotLibrariesMissingError if either is not installed; other failures propagate as they are.
 * `importer` is for tests.
 */
export async function loadPlotLibraries(importer: Importer = nativeImport): Promise<PlotLibraries> {
  const load = async (specifier: string): Promise<Record<string, unknown>> => {
    try {
      return (await importer(specifier)) as Record<string, unknown>;
    } catch (err) {
      if (isMissing(err, specifier)) throw new PlotLibrariesMissingError(specifier);
      throw err;
    }
  };
  const vl = await load('vega-lite');
  const vg = await load('vega');
  return { compile: vl.compile, parse: vg.parse, View: vg.View } as unknown as PlotLibraries;
}

/** Renders the chart to an SVG string (loading the libraries unless given). */
export async function renderConvergenceSvg(panels: readonly ConvergencePanel[], opts: PlotOptions = {}, libs?: PlotLibraries): Promise<string> {
  const { compile, parse, View } = libs ?? (await loadPlotLibraries());
  const vg = compile(convergenceSpec(panels, opts)).spec;
  const view = new View(parse(vg as never) as never, { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
