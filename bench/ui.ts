/**
 * How the web view copes with a large mesh, in Debian's Chromium (headless, playwright-core):
 *
 *   npm run bench:ui -- [--members 1000] [--instances 10000] [--names 1000] [--burst 500] [--runs 5] [--json]
 *
 * A generated mesh (test/ui/fake-mesh.ts) behind the real HTTP server: the same routes and shapes
 * as an agent, so the page does exactly what it does against one. Each run opens the page in a
 * fresh browser context and measures, on the page's own clock:
 *   - firstRenderMs: from navigation start until the lists show every member and every instance
 *     (the counts complete, the first rows drawn);
 *   - burstApplyMs: from just before the mesh emits a burst (--burst members turn suspect, one
 *     event each, and 100 service names turn critical, one service-change each, which the page
 *     reads again) until the page shows all of it;
 *   - frames during the burst (requestAnimationFrame): how many, the longest gap and the 95th
 *     percentile gap between two frames, and how many gaps exceeded 50 ms.
 * Medians over --runs. Also the gzipped size of every file the view serves.
 */
import type { Page } from 'playwright-core';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { UiAssets } from '../src/ui/assets.js';
import { CHROMIUM, launch } from '../test/ui/browser.js';
import { startFakeMesh } from '../test/ui/fake-mesh.js';
import { benchArgs, median, percentile, round } from './support.js';

const USAGE = 'npm run bench:ui -- [--members N] [--instances N] [--names N] [--burst N] [--runs N] [--json]';
const args = benchArgs('bench:ui', USAGE, {
  members: { type: 'int', default: 1000, min: 2 },
  instances: { type: 'int', default: 10_000, min: 1 },
  names: { type: 'int', default: 1000, min: 1 },
  burst: { type: 'int', default: 500, min: 1 },
  runs: { type: 'int', default: 5, min: 1 },
  json: { type: 'boolean' },
});
if (args.burst >= args.members) {
  process.stderr.write(`bench:ui: --burst must be below --members\nusage: ${USAGE}\n`);
  process.exit(2);
}
if (CHROMIUM === undefined) {
  process.stderr.write('bench:ui: no Chromium: apt-get install chromium (or set HEARSAY_CHROMIUM)\n');
  process.exit(1);
}

const CRITICAL_NAMES = Math.min(100, args.names);

const PROBE = fileURLToPath(new URL('./ui-probe.js', import.meta.url));

/** A number the probe recorded (undefined until it is). */
const mark = (page: Page, key: string): Promise<number | undefined> => page.evaluate(`window.__uiBench.marks[${JSON.stringify(key)}]`);

async function waitMark(page: Page, key: string): Promise<number> {
  // A function (not a string, which the page's CSP would refuse to eval), typed without the DOM.
  await page.waitForFunction((k: string) => (globalThis as unknown as { __uiBench: { marks: Record<string, number> } }).__uiBench.marks[k] !== undefined, key, { timeout: 60_000 });
  return (await mark(page, key)) as number;
}

async function run(): Promise<{ firstRenderMs: number; burstApplyMs: number; frames: number; maxFrameMs: number; p95FrameMs: number; longFrames: number }> {
  const { mesh, server, url } = await startFakeMesh({ members: args.members, instances: args.instances, names: args.names });
  const browser = await launch();
  try {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1100 } });
    const page = await context.newPage();
    const ready = [`#members-count[data-total="${args.members}"]`, `#instances-count[data-total="${args.instances}"][data-services="${Math.min(args.names, args.instances)}"]`, '[data-member]', '[data-instance]'];
    // The first render, watched from the very start of the document.
    await page.addInitScript({ path: PROBE });
    await page.addInitScript(`window.__uiBench.watch('firstRender', ${JSON.stringify(ready)})`);
    await page.goto(url);
    const firstRenderMs = await waitMark(page, 'firstRender');
    await page.waitForSelector('#connection[data-state="live"]', { timeout: 10_000 });

    const critical = (() => {
      const names = mesh.services().slice(0, CRITICAL_NAMES).map((s) => s.name);
      return mesh.services().reduce((n, s) => n + (names.includes(s.name) ? s.instances : mesh.lookup(s.name, { status: 'critical' }).length), 0);
    })();
    await page.evaluate(`window.__uiBench.watch('burstDone', ${JSON.stringify([`#members-count[data-suspect="${args.burst}"]`, `#instances-count[data-critical="${critical}"]`])})`);
    // Frames from now on: the gaps between animation frames.
    const t0 = (await page.evaluate('window.__uiBench.startFrames()')) as number;
    mesh.setMembers(args.burst, 'suspect');
    mesh.setNames(CRITICAL_NAMES, 'critical');
    const done = await waitMark(page, 'burstDone');
    const frames = ((await page.evaluate('window.__uiBench.frames')) as number[]).filter((t) => t <= done);
    const gaps = frames.slice(1).map((t, i) => t - (frames[i] as number)).sort((a, b) => a - b);
    await context.close();
    return {
      firstRenderMs,
      burstApplyMs: done - t0,
      frames: frames.length,
      maxFrameMs: gaps.at(-1) ?? done - t0,
      p95FrameMs: percentile(gaps, 95) ?? done - t0,
      longFrames: gaps.filter((g) => g > 50).length,
    };
  } finally {
    await browser.close();
    await server.close();
  }
}

const assets = new UiAssets();
const gzipBytes = Object.fromEntries(assets.paths().map((p) => [p, assets.get(p)?.gzip.length ?? 0]));
const results: Awaited<ReturnType<typeof run>>[] = [];
for (let i = 0; i < args.runs; i++) {
  const r = await run();
  results.push(r);
  if (!args.json) process.stderr.write(`run ${i + 1}/${args.runs}: ${JSON.stringify(r)}\n`);
}
const med = (k: keyof (typeof results)[number]): number => round(median(results.map((r) => r[k])) ?? 0, 1);
const result = {
  bench: 'ui',
  members: args.members,
  instances: args.instances,
  names: args.names,
  runs: args.runs,
  firstRenderMs: med('firstRenderMs'),
  burstEvents: args.burst + CRITICAL_NAMES,
  burstApplyMs: med('burstApplyMs'),
  burstFrames: med('frames'),
  burstMaxFrameMs: med('maxFrameMs'),
  burstP95FrameMs: med('p95FrameMs'),
  burstLongFrames: med('longFrames'),
  firstRenderMsRuns: results.map((r) => round(r.firstRenderMs, 1)),
  burstApplyMsRuns: results.map((r) => round(r.burstApplyMs, 1)),
  assetsGzipBytes: Object.values(gzipBytes).reduce((a, b) => a + b, 0),
  loadavg1: round(loadavg()[0] ?? 0, 2),
};
process.stdout.write(args.json ? `${JSON.stringify(result)}\n` : `${JSON.stringify({ ...result, gzipBytes }, null, 2)}\n`);
