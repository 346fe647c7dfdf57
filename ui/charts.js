// @ts-check
/**
 * The agent's own health, from its `agent-health` events: small uPlot charts of the last minutes
 * (probe round trips, packets, drops, event-loop lag) and the drops by reason in that window.
 * uPlot is loaded by the page as a classic script (window.uPlot).
 */
import { h } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import htm from 'htm';

const html = htm.bind(h);

/** @typedef {import('./store.js').MeshStore} MeshStore */
/** @typedef {import('../src/api/view-types.js').AgentHealthSample} AgentHealthSample */
/** @typedef {{ title: string, unit: string, series: { label: string, colour: string, value: (s: AgentHealthSample) => number | null }[] }} ChartSpec */

/** @type {ChartSpec[]} */
export const CHARTS = [
  {
    title: 'Probe round trip',
    unit: 'ms',
    series: [
      { label: 'direct mean', colour: '#0072B2', value: (s) => s.probeRtt.direct.meanMs },
      { label: 'direct p99', colour: '#56B4E9', value: (s) => s.probeRtt.direct.p99Ms },
      { label: 'indirect mean', colour: '#CC79A7', value: (s) => s.probeRtt.indirect.meanMs },
    ],
  },
  {
    title: 'Packets',
    unit: '/s',
    series: [
      { label: 'in', colour: '#009E73', value: (s) => (s.packetsIn * 1000) / Math.max(1, s.intervalMs) },
      { label: 'out', colour: '#0072B2', value: (s) => (s.packetsOut * 1000) / Math.max(1, s.intervalMs) },
    ],
  },
  {
    title: 'Drops',
    unit: 'per interval',
    series: [
      { label: 'all reasons', colour: '#D55E00', value: (s) => Object.values(s.dropped).reduce((a, b) => a + b, 0) },
      { label: 'probe failures', colour: '#E69F00', value: (s) => s.probeFailures },
    ],
  },
  {
    title: 'Event-loop lag',
    unit: 'ms',
    series: [
      { label: 'p99', colour: '#CC79A7', value: (s) => s.eventLoopLagMs?.p99 ?? null },
      { label: 'max', colour: '#D55E00', value: (s) => s.eventLoopLagMs?.max ?? null },
    ],
  },
];

/**
 * The chart's columns: x in seconds, then one array per series.
 * @param {readonly AgentHealthSample[]} samples
 * @param {ChartSpec} spec
 * @returns {(number | null)[][]}
 */
export function chartData(samples, spec) {
  return [samples.map((s) => Date.parse(s.at) / 1000), ...spec.series.map((se) => samples.map((s) => se.value(s)))];
}

/** @param {{ store: MeshStore, spec: ChartSpec }} props */
function Chart({ store, spec }) {
  const el = useRef(/** @type {HTMLDivElement | null} */ (null));
  useEffect(() => {
    const target = el.current;
    /** @type {any} */
    const uPlot = /** @type {any} */ (window).uPlot;
    if (target === null || uPlot === undefined) return;
    const plot = new uPlot(
      {
        width: 250,
        height: 110,
        legend: { show: true, live: false },
        cursor: { show: true, points: { show: false } },
        // With fewer than two samples, the last minute (uPlot would otherwise span years).
        scales: { x: { time: true, range: (/** @type {any} */ _u, /** @type {number | null} */ min, /** @type {number | null} */ max) => (min === null || max === null || min === max ? [Date.now() / 1000 - 60, Date.now() / 1000] : [min, max]) } },
        axes: [
          // One line of minutes:seconds (uPlot's default adds a date line, which a small chart cuts).
          { size: 22, font: '10px system-ui', ticks: { size: 3 }, values: (/** @type {any} */ _u, /** @type {number[]} */ splits) => splits.map((t) => new Date(t * 1000).toLocaleTimeString([], { minute: '2-digit', second: '2-digit' })) },
          { size: 36, font: '10px system-ui', ticks: { size: 3 } },
        ],
        series: [{}, ...spec.series.map((s) => ({ label: s.label, stroke: s.colour, width: 1.5, spanGaps: false, points: { show: false } }))],
      },
      chartData(store.health, spec),
      target,
    );
    let seen = store.health.length === 0 ? '' : store.health[store.health.length - 1]?.at;
    const update = () => {
      const last = store.health[store.health.length - 1]?.at ?? '';
      if (last === seen) return;
      seen = last;
      plot.setData(chartData(store.health, spec));
    };
    const unsubscribe = store.subscribe(update);
    return () => {
      unsubscribe();
      plot.destroy();
    };
  }, [store, spec]);
  return html`<figure class="chart"><figcaption>${spec.title} <span class="hint">${spec.unit}</span></figcaption><div ref=${el}></div></figure>`;
}

/** @param {{ store: MeshStore }} props */
function Summary({ store }) {
  const ref = useRef(/** @type {HTMLDivElement | null} */ (null));
  useEffect(() => {
    const draw = () => {
      const div = ref.current;
      if (div === null) return;
      const last = store.health[store.health.length - 1];
      /** @type {Record<string, number>} */
      const drops = {};
      for (const s of store.health) for (const [k, v] of Object.entries(s.dropped)) drops[k] = (drops[k] ?? 0) + v;
      const minutes = store.health.reduce((a, s) => a + s.intervalMs, 0) / 60000;
      const entries = Object.entries(drops).sort((a, b) => b[1] - a[1]);
      div.dataset['samples'] = String(store.health.length);
      div.textContent = '';
      const p = document.createElement('p');
      p.textContent =
        last === undefined
          ? 'Waiting for the first health sample…'
          : `health score ${last.healthScore} · incarnation ${last.incarnation} · ${last.probes} probes, ${last.probeFailures} failed in the last ${Math.round(last.intervalMs / 100) / 10} s`;
      div.append(p);
      const q = document.createElement('p');
      q.className = 'drops';
      q.textContent = entries.length === 0 ? `no drops in the last ${minutes.toFixed(1)} min` : `drops in the last ${minutes.toFixed(1)} min: ${entries.map(([k, v]) => `${k} ${v}`).join(', ')}`;
      div.append(q);
    };
    draw();
    return store.subscribe(draw);
  }, [store]);
  return html`<div class="summary" id="health-summary" ref=${ref}></div>`;
}

/** @param {{ store: MeshStore }} props */
export function HealthPanel({ store }) {
  return html`<section class="panel health">
    <header><h2>This agent's health</h2></header>
    <${Summary} store=${store} />
    <div class="charts">${CHARTS.map((spec) => html`<${Chart} store=${store} spec=${spec} key=${spec.title} />`)}</div>
  </section>`;
}
