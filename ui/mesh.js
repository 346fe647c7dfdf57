// @ts-check
/**
 * The mesh as a ring: every member a dot on a circle (in name order), coloured by its status,
 * with a halo while its status is new; this agent drawn larger at the top. Drawn on a canvas, so a
 * thousand members cost one redraw of a thousand arcs. A click selects the nearest member.
 */
import { h } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import htm from 'htm';

const html = htm.bind(h);

/** Okabe-Ito colours (safe for colour-blind readers), as in style.css. */
export const STATUS_COLOURS = /** @type {Readonly<Record<string, string>>} */ ({ alive: '#009E73', suspect: '#E69F00', dead: '#D55E00', left: '#999999' });
const SIZE = 300;
/** A status this young (ms) gets a halo. */
const FRESH_MS = 5000;

/** @typedef {import('./store.js').MeshStore} MeshStore */
/** @typedef {import('./store.js').Member} Member */

/**
 * Where each member sits: its own first, then the others around the circle.
 * @param {readonly Member[]} members
 * @param {string} selfName
 * @returns {{ m: Member, x: number, y: number }[]}
 */
export function ringLayout(members, selfName) {
  const self = members.findIndex((m) => m.name === selfName);
  const ordered = self < 0 ? members : [...members.slice(self), ...members.slice(0, self)];
  const r = SIZE / 2 - 30;
  return ordered.map((m, i) => {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(1, ordered.length);
    return { m, x: SIZE / 2 + r * Math.cos(a), y: SIZE / 2 + r * Math.sin(a) };
  });
}

/** @param {{ store: MeshStore, selfName: string, selected: string, onSelect: (name: string) => void }} props */
export function MeshRing({ store, selfName, selected, onSelect }) {
  const canvas = useRef(/** @type {HTMLCanvasElement | null} */ (null));
  const layout = useRef(/** @type {{ m: Member, x: number, y: number }[]} */ ([]));
  const props = useRef({ selfName, selected });
  props.current = { selfName, selected };

  useEffect(() => {
    const draw = () => {
      const c = canvas.current;
      if (c === null) return;
      const ctx = c.getContext('2d');
      if (ctx === null) return;
      const ratio = window.devicePixelRatio || 1;
      if (c.width !== SIZE * ratio) {
        c.width = SIZE * ratio;
        c.height = SIZE * ratio;
      }
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.clearRect(0, 0, SIZE, SIZE);
      const members = store.memberArray();
      const points = ringLayout(members, props.current.selfName);
      layout.current = points;
      const dot = Math.max(2, Math.min(9, 600 / Math.max(1, points.length)));
      const now = Date.now();
      ctx.strokeStyle = '#d0d4da';
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.arc(SIZE / 2, SIZE / 2, SIZE / 2 - 30, 0, 2 * Math.PI);
      ctx.stroke();
      for (const { m, x, y } of points) {
        const colour = STATUS_COLOURS[m.status] ?? '#000';
        const isSelf = m.name === props.current.selfName;
        const r = isSelf ? dot * 1.6 : dot;
        if (now - m.since < FRESH_MS) {
          ctx.fillStyle = `${colour}44`;
          ctx.beginPath();
          ctx.arc(x, y, r * 2.2, 0, 2 * Math.PI);
          ctx.fill();
        }
        ctx.fillStyle = colour;
        ctx.beginPath();
        ctx.arc(x, y, r, 0, 2 * Math.PI);
        ctx.fill();
        if (m.name === props.current.selected || isSelf) {
          ctx.strokeStyle = isSelf ? '#222' : '#0072B2';
          ctx.lineWidth = 2;
          ctx.beginPath();
          ctx.arc(x, y, r + 3, 0, 2 * Math.PI);
          ctx.stroke();
        }
        if (points.length <= 24) {
          ctx.fillStyle = '#333';
          ctx.font = '11px system-ui, sans-serif';
          ctx.textAlign = x < SIZE / 2 - 1 ? 'right' : x > SIZE / 2 + 1 ? 'left' : 'center';
          const dx = x < SIZE / 2 - 1 ? -r - 4 : x > SIZE / 2 + 1 ? r + 4 : 0;
          const dy = Math.abs(x - SIZE / 2) <= 1 ? (y < SIZE / 2 ? -r - 6 : r + 12) : 4;
          ctx.fillText(m.name, x + dx, y + dy);
        }
      }
      const counts = store.memberCounts();
      c.dataset['alive'] = String(counts.alive);
      c.dataset['suspect'] = String(counts.suspect);
      c.dataset['dead'] = String(counts.dead);
      c.dataset['left'] = String(counts.left);
    };
    draw();
    const unsubscribe = store.subscribe(draw);
    // Halos fade: one redraw a second (drawing only, nothing is read from the agent).
    const t = setInterval(draw, 1000);
    return () => {
      unsubscribe();
      clearInterval(t);
    };
  }, [store]);

  /** @param {MouseEvent} e */
  const click = (e) => {
    const c = canvas.current;
    if (c === null) return;
    const box = c.getBoundingClientRect();
    const x = ((e.clientX - box.left) / box.width) * SIZE;
    const y = ((e.clientY - box.top) / box.height) * SIZE;
    let best = null;
    let bestD = 15 * 15;
    for (const p of layout.current) {
      const d = (p.x - x) ** 2 + (p.y - y) ** 2;
      if (d < bestD) {
        bestD = d;
        best = p.m.name;
      }
    }
    if (best !== null) onSelect(best);
  };

  return html`<section class="panel mesh">
    <header><h2>Mesh</h2><span class="legend">${Object.entries(STATUS_COLOURS).map(([s, c]) => html`<span key=${s}><span class="dot" style=${{ background: c }}></span>${s}</span>`)}</span></header>
    <canvas id="mesh" ref=${canvas} width=${SIZE} height=${SIZE} style=${{ width: `${SIZE}px`, height: `${SIZE}px` }} onClick=${click} role="img" aria-label="the members on a ring, coloured by status"></canvas>
  </section>`;
}
