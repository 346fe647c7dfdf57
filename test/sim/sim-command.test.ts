/**
 * The `hearsay` CLI entry and `hearsay sim` (kept beside the simulator tests).
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { parseFlags } from '../../src/cli/parser.js';
import { UsageError, type Io } from '../../src/cli/command.js';
import { command as sim } from '../../src/cli/commands/sim.js';
import { convergenceSpec, loadPlotLibraries, OKABE_ITO, PlotLibrariesMissingError, SERIES, type ConvergencePanel } from '../../src/sim/plot.js';

function capture(tty = false): Io & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s), isTTY: tty },
    out: () => out,
    err: () => err,
  };
}

describe('hearsay CLI', () => {
  it('prints usage and exits 2 for no command or an unknown one', async () => {
    const a = capture();
    expect(await main([], a)).toBe(2);
    expect(a.err()).toContain('usage: hearsay <command>');
    const b = capture();
    expect(await main(['frobnicate'], b)).toBe(2);
    expect(b.err()).toContain('unknown command "frobnicate"');
    expect(b.err()).toMatch(/^ {2}sim +simulate a cluster/m);
  });

  it('prints usage on stdout and exits 0 for --help', async () => {
    const a = capture();
    expect(await main(['--help'], a)).toBe(0);
    expect(a.out()).toContain('commands:');
    const b = capture();
    expect(await main(['sim', '--help'], b)).toBe(0);
    expect(b.out()).toContain('--nodes N');
    expect(b.out()).toContain('(default 50)');
  });

  it('rejects bad flags with what to do, and exits 2', async () => {
    const cases: [string[], RegExp][] = [
      [['--nodes', 'ten'], /--nodes must be an integer >= 2 and <= 100000 \(got "ten"\), e\.g\. --nodes 100/],
      [['--loss', '1'], /--loss must be a number >= 0 and < 1 \(got "1"\), e\.g\. --loss 0\.05/],
      [['--profile', 'moon'], /--profile must be one of lan, wan, local \(got "moon"\)/],
      [['--plot', 'chart.png'], /--plot must name an \.svg file, e\.g\. --plot convergence\.svg/],
      [['--bogus'], /unknown flag --bogus for 'hearsay sim': known flags are --nodes, --seed/],
      [['--seed'], /--seed needs a value, e\.g\. --seed 42/],
      [['extra'], /unexpected argument "extra"/],
      [['--json=maybe'], /--json takes no value or =true\/=false/],
    ];
    for (const [argv, message] of cases) {
      const io = capture();
      expect(await main(['sim', ...argv], io)).toBe(2);
      expect(io.err()).toMatch(message);
      expect(io.err()).toContain("run 'hearsay sim --help' for usage");
    }
  });

  it('parses --flag value, --flag=value, underscores in numbers and defaults', () => {
    const v = parseFlags('sim', sim.flags, ['--nodes=1_000', '--loss', '0.05', '--json']);
    expect(v.nodes).toBe(1000);
    expect(v.loss).toBe(0.05);
    expect(v.json).toBe(true);
    expect(v.profile).toBe('lan');
    expect(v.seed).toBeUndefined();
    expect(() => parseFlags('sim', sim.flags, ['--nodes', '2.5'])).toThrow(UsageError);
  });
});

describe('hearsay sim', () => {
  it('replays the same report for the same seed, wall time aside', async () => {
    const run = async (): Promise<Record<string, unknown>> => {
      const io = capture();
      expect(await main(['sim', '--nodes', '12', '--seed', '99', '--profile', 'local', '--json'], io)).toBe(0);
      const report = JSON.parse(io.out()) as Record<string, unknown>;
      delete report.wallMs;
      return { report, progress: io.err() };
    };
    const a = await run();
    expect(await run()).toEqual(a);
    const report = a.report as { seed: number; steps: { kind: string; allMs: number | null; reached: number; population: number }[] };
    expect(report.seed).toBe(99);
    expect(report.steps.map((s) => s.kind)).toEqual(['join', 'dead', 'leave']);
    for (const s of report.steps) {
      expect(s.allMs).not.toBeNull();
      expect(s.reached).toBe(s.population);
    }
  });

  it('prints a readable summary with a replay line, plain progress lines off a TTY, and writes the plot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearsay-sim-'));
    const file = join(dir, 'c.svg');
    const io = capture(false);
    expect(await main(['sim', '--nodes', '10', '--seed', '5', '--profile', 'local', '--loss', '0.01', '--plot', file], io)).toBe(0);
    const out = io.out();
    expect(out).toContain('hearsay sim: 10 nodes, profile local, seed 5, loss 1%');
    expect(out).toMatch(/join of n11 +[\d.]+ s +[\d.]+ s +8\/8/); // 11 nodes less the crashed, the left and n11 itself
    expect(out).toContain('traffic per node per second:');
    expect(out).toContain('false deaths: ');
    expect(out).toContain('replay: hearsay sim --nodes 10 --seed 5 --profile local --loss 0.01');
    expect(io.err()).not.toContain('\r');
    const lines = io.err().trimEnd().split('\n');
    expect(lines[0]).toMatch(/^t= +5\.0s {2}step [12]\/4 {2}/);
    // every progress line: the step of the total, and an estimate of the time left
    for (const line of lines) expect(line).toMatch(/^t= +[\d.]+s {2}step [1-4]\/4 {2}.* {2}ETA (\d+ s|\d+ min \d\d s|\?)$/);
    expect(lines.some((l) => /crash of n\d+: \d+\/\d+ nodes know/.test(l) || l.includes('settling'))).toBe(true);
    const svg = readFileSync(file, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    for (const text of ['join of n11', 'crash of n', 'leave of n', 'half know', 'all know', 'suspicion floor']) expect(svg).toContain(text);
  });

  it('overwrites one progress line with carriage returns on a TTY', async () => {
    const io = capture(true);
    expect(await main(['sim', '--nodes', '5', '--seed', '1', '--profile', 'local', '--seconds', '20'], io)).toBe(0);
    expect(io.err().startsWith('\r')).toBe(true);
    expect(io.err().endsWith('\r')).toBe(true);
    expect(io.err()).not.toContain('\n');
    expect(io.err()).toMatch(/step [1-4]\/4 .* ETA /);
  });
});

describe('--plot without vega and vega-lite installed', () => {
  const notFound = (name: string): Error =>
    Object.assign(new Error(`Cannot find package '${name}' imported from /x/dist/src/sim/plot.js`), { code: 'ERR_MODULE_NOT_FOUND' });

  it('loadPlotLibraries names the missing package and how to install both', async () => {
    for (const missing of ['vega', 'vega-lite']) {
      const importer = (s: string): Promise<unknown> => (s === missing ? Promise.reject(notFound(s)) : import(s));
      const err = await loadPlotLibraries(importer).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PlotLibrariesMissingError);
      expect((err as PlotLibrariesMissingError).missing).toBe(missing);
      expect((err as Error).message).toContain('npm install vega vega-lite');
      expect((err as Error).message).not.toContain('\n');
    }
    // anything else (a broken install) is not dressed up as "not installed"
    const broken = Object.assign(new Error("Cannot find package 'd3-array' imported from vega"), { code: 'ERR_MODULE_NOT_FOUND' });
    await expect(loadPlotLibraries((s) => (s === 'vega' ? Promise.reject(broken) : import(s)))).rejects.toBe(broken);
  });

  it('hearsay sim --plot says so in one line before simulating, and exits 1 (vega hidden from a real process)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearsay-novega-'));
    // A resolve hook that makes vega and vega-lite unresolvable, as in a project that never installed them.
    const hook = join(dir, 'hide-vega.mjs');
    const resolver = [
      'export async function resolve(specifier, context, next) {',
      "  if (specifier === 'vega' || specifier === 'vega-lite') {",
      "    throw Object.assign(new Error(`Cannot find package '${specifier}' imported from ${context.parentURL}`), { code: 'ERR_MODULE_NOT_FOUND' });",
      '  }',
      '  return next(specifier, context);',
      '}',
    ].join('\n');
    writeFileSync(hook, `import { register } from 'node:module';\nregister(${JSON.stringify(`data:text/javascript,${encodeURIComponent(resolver)}`)});\n`);
    const chart = join(dir, 'c.svg');
    const bin = fileURLToPath(new URL('../../bin/hearsay.js', import.meta.url));
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--import', hook, bin, 'sim', '--nodes', '5', '--profile', 'local', '--plot', chart], { timeout: 60_000 }, (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
      });
    });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^hearsay sim: --plot needs the optional packages vega and vega-lite, and vega-lite is not installed: run `npm install vega vega-lite`[^\n]*\n$/);
    expect(existsSync(chart)).toBe(false);
  });
});

describe('the convergence chart', () => {
  const panels: ConvergencePanel[] = [
    { kind: 'join', subject: 'n51', points: [{ ms: 0, share: 0 }, { ms: 200, share: 0.5 }, { ms: 410, share: 1 }, { ms: 500, share: 1 }], halfMs: 200, allMs: 410 },
    { kind: 'dead', subject: 'n4', points: [{ ms: 0, share: 0 }, { ms: 12_530, share: 0.6 }, { ms: 12_740, share: 1 }], halfMs: 12_530, allMs: 12_740, floorMs: 6830 },
    { kind: 'leave', subject: 'n44', points: [{ ms: 0, share: 0 }, { ms: 3, share: 0.5 }, { ms: 6, share: 1 }], halfMs: 3, allMs: 6 },
  ];
  type Layer = { description?: string; data: { values: Record<string, unknown>[] }; mark: { type: string; color?: string }; encoding: Record<string, { scale?: { domain?: unknown[]; range?: unknown[] }; title?: unknown; field?: string }> };
  type Panel = { title: { text: string }; layer: Layer[] };
  const spec = convergenceSpec(panels, { title: 't', subtitle: 's' }) as unknown as {
    vconcat: Panel[];
    resolve: { scale: Record<string, string> };
    config: { legend: Record<string, unknown> };
  };
  const texts = (p: Panel): string[] => p.layer.filter((l) => l.mark.type === 'text').flatMap((l) => l.data.values.map((v) => [v.text].flat().join(' ')));
  const rules = (p: Panel): string[] => p.layer.filter((l) => l.mark.type === 'rule').flatMap((l) => l.data.values.map((v) => String(v.series)));
  const domainOf = (p: Panel): unknown[] | undefined => p.layer.find((l) => l.mark.type === 'line')?.encoding.x?.scale?.domain;

  it('has one panel per event, each with its own time scale', () => {
    expect(spec.vconcat).toHaveLength(3);
    expect(spec.vconcat.map((p) => p.title.text)).toEqual([
      'join of n51: its alive reaches every node',
      'crash of n4: every node declares it dead',
      'leave of n44: every node lists it left',
    ]);
    expect(spec.resolve.scale.x).toBe('independent');
    const ends = spec.vconcat.map((p) => (domainOf(p) as number[])[1] as number);
    // each domain ends just past its own all-know time (in its own unit: the leave took 6 ms)
    expect(ends[0]).toBeGreaterThan(0.41);
    expect(ends[0]).toBeLessThan(0.8);
    expect(ends[1]).toBeGreaterThan(12.74);
    expect(ends[1]).toBeLessThan(20);
    expect(ends[2]).toBeGreaterThan(6);
    expect(ends[2]).toBeLessThan(12);
    expect(spec.vconcat[2]!.layer.find((l) => l.mark.type === 'line')!.encoding.x!.title).toBe('milliseconds after the leave');
    expect(spec.vconcat[1]!.layer.find((l) => l.mark.type === 'line')!.encoding.x!.title).toBe('seconds after the crash');
  });

  it('marks half-know and all-know on every panel with rules and labels, and the suspicion floor on the crash', () => {
    for (const p of spec.vconcat) {
      expect(rules(p)).toEqual(expect.arrayContaining(['half know', 'all know']));
      expect(texts(p).some((t) => t.startsWith('half know '))).toBe(true);
      expect(texts(p).some((t) => t.startsWith('all know '))).toBe(true);
    }
    const [join, crash, leave] = spec.vconcat as [Panel, Panel, Panel];
    expect(texts(join)).toEqual(expect.arrayContaining(['half know 0.20 s', 'all know 0.41 s']));
    expect(texts(leave)).toEqual(expect.arrayContaining(['half know 3.0 ms', 'all know 6.0 ms']));
    expect(rules(crash)).toContain('suspicion floor');
    expect(texts(crash)).toContain('suspicion floor 6.83 s: no node declares it dead any sooner');
    expect(crash.layer.some((l) => l.mark.type === 'rect')).toBe(true);
    expect(rules(join)).not.toContain('suspicion floor');
    // the rules sit where the panel says, in the panel's unit
    const at = (p: Panel, series: string): unknown => p.layer.find((l) => l.mark.type === 'rule')!.data.values.find((v) => v.series === series)?.time;
    expect(at(crash, 'suspicion floor')).toBeCloseTo(6.83);
    expect(at(leave, 'all know')).toBe(6);
  });

  it('draws in the Okabe-Ito palette, every series with its own dash, one legend at the bottom that is never cut', () => {
    const palette = new Set<string>(Object.values(OKABE_ITO));
    for (const s of SERIES) expect(palette.has(s.color)).toBe(true);
    expect(new Set(SERIES.map((s) => s.color)).size).toBe(SERIES.length);
    expect(new Set(SERIES.map((s) => s.dash.join(','))).size).toBe(SERIES.length - 2); // the three events are solid, told apart by colour and panel
    for (const p of spec.vconcat) {
      for (const l of p.layer) {
        if (l.mark.color !== undefined) expect(palette.has(l.mark.color)).toBe(true);
        const range = l.encoding.color?.scale?.range;
        if (range !== undefined) for (const c of range) expect(palette.has(c as string)).toBe(true);
      }
    }
    expect(spec.config.legend).toMatchObject({ orient: 'bottom', labelLimit: 0 });
  });

  it('renders an SVG whose legend and labels lie inside it', async () => {
    const libs = await loadPlotLibraries();
    const vg = libs.compile(convergenceSpec(panels, { title: 't' })).spec;
    const view = new (libs.View as unknown as new (r: unknown, c: unknown) => {
      runAsync(): Promise<unknown>;
      toSVG(): Promise<string>;
      origin(): [number, number];
      scenegraph(): { root: Item };
      finalize(): void;
    })(libs.parse(vg as never), { renderer: 'none' });
    type Item = { role?: string; marktype?: string; bounds?: { x1: number; y1: number; x2: number; y2: number }; items?: Item[]; x?: number; y?: number };
    try {
      await view.runAsync();
      const svg = await view.toSVG();
      const width = Number(/^<svg[^>]* width="([\d.]+)"/.exec(svg)?.[1]);
      const height = Number(/^<svg[^>]* height="([\d.]+)"/.exec(svg)?.[1]);
      const [ox, oy] = view.origin();
      const legends: Item[] = [];
      const walk = (item: Item): void => {
        if (item.role === 'legend') legends.push(item);
        for (const child of item.items ?? []) walk(child);
      };
      walk(view.scenegraph().root);
      expect(legends).toHaveLength(1);
      const b = legends[0]!.bounds!;
      expect(b.x1 + ox).toBeGreaterThanOrEqual(0);
      expect(b.y1 + oy).toBeGreaterThanOrEqual(0);
      expect(b.x2 + ox).toBeLessThanOrEqual(width);
      expect(b.y2 + oy).toBeLessThanOrEqual(height);
      for (const label of ['join', 'crash', 'leave', 'half know', 'all know', 'suspicion floor']) expect(svg).toContain(`>${label}</text>`);
      const root = view.scenegraph().root.bounds!;
      expect(root.x2 + ox).toBeLessThanOrEqual(width);
      expect(root.y2 + oy).toBeLessThanOrEqual(height);
    } finally {
      view.finalize();
    }
  });
});
