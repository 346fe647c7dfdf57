/**
 * `hearsay sim`: runs the default scenario on the deterministic simulator — N nodes form a
 * cluster, then one new node joins, one crashes and one leaves — and reports how long each took
 * to reach every live node, the traffic per node, false deaths and the wall time. The same seed
 * replays the same run (everything but the wall time is identical).
 */
import { randomInt } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { suspicionMinTimeoutMs } from '../../membership/math.js';
import type { ProfileName } from '../../membership/options.js';
import { Eta, formatEta } from '../../util/eta.js';
import { EXIT_FAILURE, type Command, type FlagValues, type Io } from '../command.js';
import {
  createWorld,
  loadPlotLibraries,
  PlotLibrariesMissingError,
  renderConvergenceSvg,
  SpreadTracker,
  type ConvergencePanel,
  type LatencyModel,
  type PlotLibraries,
  type SpreadKind,
} from '../../sim/index.js';

const flags = {
  nodes: { type: 'int', default: 50, min: 2, max: 100_000, placeholder: 'N', description: 'cluster size before the join', example: '100' },
  seed: {
    type: 'int',
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    placeholder: 'S',
    description: 'seed for every random draw; the same seed replays the run (default: random, printed)',
    example: '42',
  },
  loss: { type: 'number', default: 0, min: 0, below: 1, placeholder: 'F', description: 'probability that a datagram is lost', example: '0.05' },
  'latency-ms': {
    type: 'number',
    min: 0,
    max: 60_000,
    placeholder: 'MS',
    description: 'median one-way latency, lognormal (default: 0.2 local, 0.5 lan, 40 wan)',
    example: '5',
  },
  profile: { type: 'choice', choices: ['lan', 'wan', 'local'], default: 'lan', description: 'membership timing profile' },
  seconds: {
    type: 'number',
    min: 1,
    max: 86_400,
    placeholder: 'S',
    description: 'most simulated seconds to wait for each step (default: 30 local, 60 lan, 300 wan)',
    example: '120',
  },
  start: {
    type: 'choice',
    choices: ['join', 'converged'],
    description: 'form the cluster by real joins through n1, or prebuild converged tables (default: join up to 1000 nodes)',
  },
  plot: {
    type: 'string',
    placeholder: 'FILE.svg',
    description: 'write a convergence chart as SVG: one panel per event, half-know and all-know marked (needs vega and vega-lite installed)',
    check: (v: string) => (v.toLowerCase().endsWith('.svg') ? undefined : 'must name an .svg file, e.g. --plot convergence.svg'),
  },
  json: { type: 'boolean', description: 'print the summary as JSON on stdout' },
} as const;

type SimFlags = FlagValues<typeof flags>;

const DEFAULT_LATENCY_MS: Readonly<Record<ProfileName, number>> = { local: 0.2, lan: 0.5, wan: 40 };
const DEFAULT_SECONDS: Readonly<Record<ProfileName, number>> = { local: 30, lan: 60, wan: 300 };
const LATENCY_SIGMA: Readonly<Record<ProfileName, number>> = { local: 0.25, lan: 0.25, wan: 0.4 };
/** Simulated time between two plain progress lines (non-TTY). */
const PROGRESS_LINE_EVERY_MS = 5000;
/** Simulated time per run chunk (progress and node-seconds are sampled between chunks). */
const CHUNK_MS = 250;

export interface StepReport {
  readonly kind: SpreadKind;
  readonly subject: string;
  /** Milliseconds until half / every live node knew; null if it never happened in the window. */
  readonly halfMs: number | null;
  readonly allMs: number | null;
  readonly reached: number;
  readonly population: number;
}

export interface SimReport {
  readonly nodes: number;
  readonly profile: ProfileName;
  readonly seed: number;
  readonly loss: number;
  readonly latencyMs: number;
  readonly windowSeconds: number;
  readonly formation: { readonly mode: 'join' | 'converged'; readonly convergedAfterMs: number | null };
  readonly steps: readonly StepReport[];
  /** Per live node per simulated second, measured after formation. */
  readonly perNodePerSecond: {
    readonly packets: number;
    readonly bytes: number;
    readonly datagram: { readonly packets: number; readonly bytes: number };
    readonly stream: { readonly packets: number; readonly bytes: number };
  };
  readonly falseDeaths: number;
  readonly suspicionsOfLiveNodes: number;
  readonly refutes: number;
  readonly network: { readonly lost: number; readonly duplicated: number; readonly blocked: number };
  readonly simulatedMs: number;
  readonly events: number;
  readonly traceHash: string;
  readonly wallMs: number;
}

class Progress {
  private readonly io: Io;
  private readonly tty: boolean;
  private lastWidth = 0;
  private lastWall = 0;
  private nextLineAt = PROGRESS_LINE_EVERY_MS;

  constructor(io: Io) {
    this.io = io;
    this.tty = io.stderr.isTTY === true;
  }

  update(simNow: number, text: () => string): void {
    if (this.tty) {
      const wall = performance.now();
      if (wall - this.lastWall < 80) return;
      this.lastWall = wall;
      const line = text();
      this.io.stderr.write(`\r${line.padEnd(this.lastWidth)}`);
      this.lastWidth = line.length;
    } else if (simNow >= this.nextLineAt) {
      while (this.nextLineAt <= simNow) this.nextLineAt += PROGRESS_LINE_EVERY_MS;
      this.io.stderr.write(`${text()}\n`);
    }
  }

  clear(): void {
    if (this.tty && this.lastWidth > 0) this.io.stderr.write(`\r${' '.repeat(this.lastWidth)}\r`);
    this.lastWidth = 0;
  }
}

/** The four steps the progress line counts ("step k/4"); each includes the settling after it. */
const STEPS = 4;

/** Runs the default scenario; exported for tests (the CLI wraps it). `plotLibraries` draws --plot. */
export async function runSim(values: SimFlags, io: Io, plotLibraries?: PlotLibraries): Promise<{ report: SimReport; code: number }> {
  const wallStart = performance.now();
  const profile = values.profile as ProfileName;
  const seed = values.seed ?? randomInt(0, 2 ** 31);
  const n = values.nodes;
  const latencyMs = values['latency-ms'] ?? DEFAULT_LATENCY_MS[profile];
  const windowMs = (values.seconds ?? DEFAULT_SECONDS[profile]) * 1000;
  const mode = (values.start ?? (n <= 1000 ? 'join' : 'converged')) as 'join' | 'converged';
  const latency: LatencyModel = latencyMs === 0 ? { kind: 'constant', ms: 0 } : { kind: 'lognormal', medianMs: latencyMs, sigma: LATENCY_SIGMA[profile] };
  const world = createWorld({ seed, profile, network: { link: { latency, lossRate: values.loss } } });
  const progress = new Progress(io);
  const settleMs = 5 * world.options.probeIntervalMs;
  const probeMs = world.options.probeIntervalMs;
  const floorMs = (live: number): number => suspicionMinTimeoutMs(world.options.suspicionMult, live, probeMs);
  let nodeMs = 0;
  let measuring = false;
  // Expected simulated time of each step (it is then measured): forming, a join, a crash (the
  // suspicion floor and a probe or two), a leave; each with the settling after it.
  const eta = new Eta([
    (mode === 'join' ? probeMs * (2 + 2 * Math.log10(n)) : probeMs) + settleMs,
    2 * probeMs + settleMs,
    floorMs(n + 1) + 2 * probeMs + settleMs,
    probeMs + settleMs,
  ], wallStart);
  let stepIndex = 0;
  let stepStart = world.now;
  const beginStep = (i: number): void => {
    stepIndex = i;
    stepStart = world.now;
  };

  /** Runs until `done` or `maxMs`, sampling progress; returns the time taken or undefined. */
  const runPhase = (label: () => string, done: () => boolean, maxMs: number, everyMs = CHUNK_MS): number | undefined => {
    const start = world.now;
    const end = start + maxMs;
    while (true) {
      if (done()) return world.now - start;
      if (world.now >= end) return undefined;
      const live = measuring ? world.liveCount() : 0;
      const t0 = world.now;
      world.runUntil(Math.min(end, world.now + everyMs));
      nodeMs += live * (world.now - t0);
      eta.update(stepIndex, world.now - stepStart, performance.now());
      progress.update(
        world.now,
        () => `${fmtTime(world.now)}  step ${stepIndex + 1}/${STEPS}  ${label()}  ${fmtCount(world.stats.events)} events  ${formatEta(eta.remainingMs())}`,
      );
    }
  };

  // 1. form the cluster
  let convergedAfterMs: number | null;
  if (mode === 'join') {
    world.addNodes(n);
    world.joinAll();
    const checkEvery = Math.max(CHUNK_MS, Math.min(2000, n)); // isConverged is O(N²)
    convergedAfterMs =
      runPhase(() => `forming: ${world.liveCount()}/${n} nodes up`, () => world.liveCount() === n && world.isConverged(), windowMs, checkEvery) ?? null;
  } else {
    world.buildConverged(n);
    runPhase(() => 'starting prebuilt cluster', () => false, world.options.probeIntervalMs);
    convergedAfterMs = 0;
  }
  runPhase(() => 'settling', () => false, settleMs);

  // 2. the measured steps: a join, a crash, a leave
  measuring = true;
  const before = world.totalTraffic();
  const trackers: SpreadTracker[] = [];
  const durations: number[] = [];
  let code = 0;
  const floors = new Map<SpreadTracker, number>();
  const step = (index: number, kind: SpreadKind, subject: string, act: () => void): void => {
    beginStep(index);
    const tracker = new SpreadTracker(world, subject, kind);
    if (kind === 'dead') floors.set(tracker, floorMs(world.liveCount()));
    trackers.push(tracker);
    act();
    const status = kind === 'join' ? 'alive' : kind === 'dead' ? 'dead' : 'left';
    const took = runPhase(
      () => `${kind === 'dead' ? 'crash' : kind} of ${subject}: ${tracker.reached()}/${Math.max(0, world.liveCount() - (world.isLive(subject) ? 1 : 0))} nodes know`,
      () => tracker.completedAfterMs() !== undefined && world.allSee(subject, status),
      windowMs,
    );
    if (took === undefined) code = 1;
    durations.push(world.now - tracker.since);
    tracker.stop();
    runPhase(() => 'settling', () => false, settleMs);
  };

  const names = world.nodeNames();
  const seedNode = names[0] as string;
  const joiner = world.addNode();
  step(1, 'join', joiner, () => world.join(joiner, [seedNode]));
  const pick = (exclude: readonly string[]): string => {
    const candidates = world.liveNames().filter((x) => !exclude.includes(x) && !world.isLeaving(x));
    return candidates[world.random.int(candidates.length)] as string;
  };
  const victim = pick([seedNode, joiner]);
  step(2, 'dead', victim, () => world.crash(victim));
  const leaver = pick([seedNode, joiner, victim]);
  step(3, 'leave', leaver, () => world.leave(leaver));
  progress.clear();

  // 3. report
  const after = world.totalTraffic();
  const nodeSeconds = Math.max(nodeMs / 1000, 1e-9);
  const per = (a: number, b: number): number => round((a - b) / nodeSeconds, 3);
  const dg = { packets: per(after.sent.datagram.packets, before.sent.datagram.packets), bytes: per(after.sent.datagram.bytes, before.sent.datagram.bytes) };
  const st = { packets: per(after.sent.stream.packets, before.sent.stream.packets), bytes: per(after.sent.stream.bytes, before.sent.stream.bytes) };
  const steps: StepReport[] = trackers.map((t) => {
    const curve = t.curve(Infinity);
    const half = curve.find((p) => p.share >= 0.5);
    const all = t.completedAfterMs();
    const population = world.liveNames().filter((x) => x !== t.subject).length;
    return {
      kind: t.kind,
      subject: t.subject,
      halfMs: half === undefined ? null : round(half.ms, 1),
      allMs: all === undefined ? null : round(all, 1),
      reached: t.reached(),
      population,
    };
  });
  const report: SimReport = {
    nodes: n,
    profile,
    seed,
    loss: values.loss,
    latencyMs,
    windowSeconds: windowMs / 1000,
    formation: { mode, convergedAfterMs: convergedAfterMs === null ? null : round(convergedAfterMs, 1) },
    steps,
    perNodePerSecond: { packets: round(dg.packets + st.packets, 3), bytes: round(dg.bytes + st.bytes, 1), datagram: dg, stream: st },
    falseDeaths: world.stats.falseDeaths,
    suspicionsOfLiveNodes: world.stats.suspicionsOfLiveNodes,
    refutes: world.stats.refutes,
    network: { lost: world.network.stats.lost, duplicated: world.network.stats.duplicated, blocked: world.network.stats.blocked },
    simulatedMs: round(world.now, 1),
    events: world.stats.events,
    traceHash: world.traceHash.toString(16).padStart(8, '0'),
    wallMs: Math.round(performance.now() - wallStart),
  };

  if (values.plot !== undefined) {
    const panels: ConvergencePanel[] = trackers.map((t, i) => {
      const points = t.curve(durations[i] as number);
      const floor = floors.get(t);
      return {
        kind: t.kind,
        subject: t.subject,
        points,
        // Unrounded, so that the rules sit exactly on the curve's steps.
        halfMs: points.find((p) => p.share >= 0.5)?.ms ?? null,
        allMs: t.completedAfterMs() ?? null,
        ...(floor === undefined ? {} : { floorMs: floor }),
      };
    });
    const svg = await renderConvergenceSvg(
      panels,
      {
        title: `hearsay sim: how fast ${n} nodes learn of a join, a crash and a leave`,
        subtitle: `profile ${profile} · loss ${pct(values.loss)} · latency ~${latencyMs} ms (lognormal) · seed ${seed} · each panel has its own time scale`,
      },
      plotLibraries,
    );
    await writeFile(values.plot, svg);
  }
  return { report, code };
}

function formatReport(r: SimReport, values: SimFlags): string {
  const out: string[] = [];
  out.push(
    `hearsay sim: ${r.nodes} nodes, profile ${r.profile}, seed ${r.seed}, loss ${pct(r.loss)}, latency ~${r.latencyMs} ms (lognormal)`,
  );
  out.push(
    r.formation.mode === 'join'
      ? `formed by joining through n1: ${r.formation.convergedAfterMs === null ? `NOT converged after ${r.windowSeconds} s` : `converged after ${secs(r.formation.convergedAfterMs)}`}`
      : 'formed from prebuilt converged tables',
  );
  out.push('');
  const rows: string[][] = [['step', 'half know', 'all know', 'reached']];
  const label: Record<SpreadKind, string> = { join: 'join of', dead: 'crash of', leave: 'leave of' };
  for (const s of r.steps) {
    rows.push([
      `${label[s.kind]} ${s.subject}`,
      s.halfMs === null ? '-' : secs(s.halfMs),
      s.allMs === null ? `not in ${r.windowSeconds} s` : secs(s.allMs),
      `${s.reached}/${s.population}`,
    ]);
  }
  const widths = (rows[0] as string[]).map((_, c) => Math.max(...rows.map((row) => (row[c] as string).length)));
  for (const row of rows) out.push(`  ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number))).join('   ')}`);
  out.push('');
  const p = r.perNodePerSecond;
  out.push(
    `traffic per node per second: ${p.packets.toFixed(2)} packets, ${fmtBytes(p.bytes)} ` +
      `(datagrams ${p.datagram.packets.toFixed(2)} / ${fmtBytes(p.datagram.bytes)}, streams ${p.stream.packets.toFixed(2)} / ${fmtBytes(p.stream.bytes)})`,
  );
  out.push(`false deaths: ${r.falseDeaths}   suspicions of live nodes: ${r.suspicionsOfLiveNodes}   refutes: ${r.refutes}`);
  out.push(`network: ${r.network.lost} datagrams lost, ${r.network.duplicated} duplicated`);
  out.push(`simulated ${secs(r.simulatedMs)} in ${fmtCount(r.events)} events, trace ${r.traceHash}`);
  out.push(`wall time ${secs(r.wallMs)} (${fmtCount(r.events / Math.max(r.wallMs / 1000, 1e-3))} events/s)`);
  const replay = [`hearsay sim --nodes ${r.nodes} --seed ${r.seed} --profile ${r.profile}`];
  if (r.loss > 0) replay.push(`--loss ${r.loss}`);
  if (values['latency-ms'] !== undefined) replay.push(`--latency-ms ${r.latencyMs}`);
  if (values.seconds !== undefined) replay.push(`--seconds ${values.seconds}`);
  if (values.start !== undefined) replay.push(`--start ${values.start}`);
  out.push(`replay: ${replay.join(' ')}`);
  if (values.plot !== undefined) out.push(`plot: wrote ${values.plot}`);
  return `${out.join('\n')}\n`;
}

export const command: Command<typeof flags> = {
  name: 'sim',
  summary: 'simulate a cluster on a virtual network and report how fast joins, crashes and leaves spread',
  details: [
    'The cluster forms, settles, then one new node joins, one node crashes and one leaves, each',
    'watched until every live node knows (or --seconds pass). Progress goes to stderr: the step',
    '(of 4), how many nodes know, and an estimate of the time left. The exit code is 1 if some',
    'step did not reach every live node in time. --plot needs vega and vega-lite',
    '(`npm install vega vega-lite`); without them it stops before simulating, saying so.',
  ].join('\n'),
  flags,
  async run(values, io) {
    let plotLibraries: PlotLibraries | undefined;
    if (values.plot !== undefined) {
      // Before the run, not after it: a long simulation should not end in "cannot draw".
      try {
        plotLibraries = await loadPlotLibraries();
      } catch (err) {
        if (!(err instanceof PlotLibrariesMissingError)) throw err;
        io.stderr.write(`hearsay sim: ${err.message}\n`);
        return EXIT_FAILURE;
      }
    }
    const { report, code } = await runSim(values, io, plotLibraries);
    io.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report, values));
    return code;
  },
};

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function pct(f: number): string {
  return `${round(f * 100, 2)}%`;
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

function fmtTime(ms: number): string {
  return `t=${(ms / 1000).toFixed(1).padStart(6)}s`;
}

function fmtCount(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (v >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  return String(Math.round(v));
}

function fmtBytes(b: number): string {
  if (b >= 1024 * 1024) return `${(b / 1024 / 1024).toFixed(2)} MiB`;
  if (b >= 1024) return `${(b / 1024).toFixed(1)} KiB`;
  return `${Math.round(b)} B`;
}
