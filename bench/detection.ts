/**
 * Failure detection in the simulator, as the real-process benchmarks measure it: N nodes join one
 * after another through the first (the real join path), a 30 s idle window, then kill -9 of one
 * node; reports, over seeds, the time to the first suspicion anywhere and to dead in every view
 * (simulated ms), and how the second splits: from the first suspicion to the first death declared
 * (the Lifeguard suspicion timeout) and from there to dead in every view (dissemination).
 *
 * Keys: firstSuspectMs, deadEverywhereMs, suspectToFirstDeadMs, deadSpreadMs ({p50, p90, max}
 * each), falseSuspicions (suspicions of live nodes over all runs).
 *
 *   npm run bench:detection -- --nodes 30 --runs 40 [--idle-ms 30000] [--json]
 */
import { createWorld } from '../src/sim/index.js';
import { benchArgs, median, percentile, round } from './support.js';

const args = benchArgs('bench:detection', 'npm run bench:detection -- [--nodes N] [--runs K] [--idle-ms MS] [--seed S] [--json]', {
  nodes: { type: 'int', default: 30, min: 3 },
  runs: { type: 'int', default: 40, min: 1 },
  'idle-ms': { type: 'int', default: 30_000, min: 0 },
  seed: { type: 'int', default: 1, min: 1 },
  json: { type: 'boolean' },
});

const suspectMs: number[] = [];
const deadMs: number[] = [];
const timeoutMs: number[] = [];
const spreadMs: number[] = [];
let falseSuspicions = 0;
for (let r = 0; r < args.runs; r++) {
  const seed = args.seed + r;
  const world = createWorld({
    seed,
    profile: 'lan',
    options: {},
    network: { streamLatencyTrips: 3, link: { lossRate: 0, latency: { kind: 'uniform', minMs: 0.1, maxMs: 0.5 } } },
  });
  const names = world.addNodes(args.nodes);
  const joinSpread = args.nodes * 15; // sequential awaited joins take about this long on loopback
  world.joinAll({ staggerMs: joinSpread });
  world.runFor(joinSpread + 3000 + args['idle-ms'] + ((seed * 137) % 1000));
  const victim = names[seed % args.nodes] as string;
  const t0 = world.now;
  let first: number | undefined;
  let firstDead: number | undefined;
  world.onEvent((_node, e, t) => {
    if (e.type === 'member-dead' && e.member.name === victim) firstDead ??= t - t0;
    if (e.type !== 'member-suspect') return;
    if (e.member.name === victim) first ??= t - t0;
    else falseSuspicions++;
  });
  world.crash(victim);
  const at = world.runUntilTrue(() => names.every((x) => x === victim || world.member(x).statusOf(victim) === 'dead'), 120_000, 10);
  suspectMs.push(first ?? Number.NaN);
  deadMs.push(at === undefined ? Number.NaN : at - t0);
  timeoutMs.push((firstDead ?? Number.NaN) - (first ?? Number.NaN));
  spreadMs.push(at === undefined ? Number.NaN : at - t0 - (firstDead ?? Number.NaN));
}
const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
const summary = (xs: number[]): { p50: number; p90: number; max: number } => ({
  p50: round(median(xs) ?? NaN),
  p90: round(percentile(sorted(xs), 90) ?? NaN),
  max: round(Math.max(...xs)),
});
const result = {
  bench: 'detection',
  nodes: args.nodes,
  runs: args.runs,
  idleMs: args['idle-ms'],
  firstSuspectMs: summary(suspectMs),
  deadEverywhereMs: summary(deadMs),
  suspectToFirstDeadMs: summary(timeoutMs),
  deadSpreadMs: summary(spreadMs),
  falseSuspicions,
};
if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
else {
  process.stdout.write(`N=${result.nodes}, ${result.runs} runs: first suspicion p50 ${result.firstSuspectMs.p50} ms (p90 ${result.firstSuspectMs.p90}, max ${result.firstSuspectMs.max}); dead everywhere p50 ${result.deadEverywhereMs.p50} ms (p90 ${result.deadEverywhereMs.p90}; suspicion timeout p50 ${result.suspectToFirstDeadMs.p50}, spread p50 ${result.deadSpreadMs.p50}); false suspicions ${falseSuspicions}\n`);
}
