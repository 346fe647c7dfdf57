/**
 * hearsay beside HashiCorp Serf, real processes on 127.0.0.1, one method for both, interleaved:
 * run 1 hearsay, run 1 Serf, run 2 hearsay, ... so that both see the same machine over time.
 *
 *   npm run bench:vs-serf -- --nodes N --runs K --json
 *     [--idle-seconds 30] [--poll-ms 100] [--step-timeout-seconds 60]
 *     [--systems hearsay,serf] [--hearsay-entry bin/hearsay.js] [--serf-binary serf]
 *
 * hearsay is `node bin/hearsay.js agent --profile lan --dns off` (the npm script builds first, so
 * the bin finds a fresh dist/); Serf is Debian's `serf agent -profile=lan`. The method, the same
 * for both (bench/harness/run.ts has the steps): every agent's member list polled every --poll-ms
 * over one persistent connection per agent (hearsay: HTTP keep-alive GET /v1/members; Serf: RPC
 * `members`, msgpack over TCP after a handshake); joins one call at a time, each awaited, over a
 * second persistent connection per agent (hearsay: POST /v1/join; Serf: RPC `join`); an idle window
 * with polling paused; kill -9 of agent floor(N/2); a graceful leave of agent floor(N/2)+2 through
 * its API (hearsay: POST /v1/leave; Serf: RPC `leave`).
 *
 * With --json, stdout carries JSON lines only: one per run as it ends, then one summary.
 *
 *   {"type":"run","system":"hearsay"|"serf","run":1,"nodes":N, METRICS...,
 *    "pollReconnects":0,"loadAvgStart":[1m,5m,15m],"loadAvgEnd":[...],"error"?:"..."}
 *   {"type":"summary","nodes":N,"runs":K,"pollMs":100,"idleSeconds":30,"settleCpuPct":1,
 *    "loadAvgStart":[...],"loadAvgEnd":[...],"commands":{"hearsay":"...","serf":"..."},
 *    "hearsay":{METRIC: median over runs,...,"failedRuns":0},"serf":{...},
 *    "ratio":{METRIC: hearsay median / serf median, 2 decimals}}
 *
 * METRICS (wall ms unless named otherwise; null when the step timed out or does not apply):
 *   convergeAfterLastJoinMs  end of the last join call -> every agent lists all N alive
 *   joinTotalMs              first join call -> every agent lists all N alive
 *   joinCallP50Ms, joinCallP99Ms, joinCallMaxMs, joinCallFirstMs
 *                            one join call (request sent -> answer read), over the N-1 calls
 *   killToFirstSuspectMs     kill -9 -> the first other agent lists it suspect (Serf: null, it
 *                            lists no suspect status)
 *   killToDeadEverywhereMs   kill -9 -> every other agent lists it dead (Serf: failed)
 *   leaveToLeftEverywhereMs  leave call sent -> every remaining agent lists it left
 *   rssPerAgentMb, rssPerAgentMbMax
 *                            VmRSS at the end of the idle window, median and max over agents, MB
 *   nodeFloorRssMb           a bare Node process holding one UDP and one TCP socket, same moment
 *   cpuPctPerAgentIdle       CPU over the idle window, median over agents, % of one core
 *   spawnToApiMs             spawn of agent 1 alone -> its API answers a member-list call
 *   spawnAllToApiMs          spawn of the other N-1 at once -> all answer
 *   settleMs                 all answer -> settled: every agent averaging at most --settle-cpu-pct
 *                            (1) % of a core over one second, before the joins (0: no wait)
 * Times are at the resolution of the poll period (a figure is late by at most one period and one
 * answer); the machine and its load are in loadAvg*.
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { benchArgs, median, round } from './support.js';
import { METRIC_KEYS, runOnce, type RunResult } from './harness/run.js';
import { DEFAULT_HEARSAY_ENTRY, hearsayDriver, serfDriver, SYSTEMS, type SystemDriver, type SystemName } from './harness/systems.js';

const USAGE =
  'npm run bench:vs-serf -- --nodes N --runs K [--json] [--idle-seconds 30] [--poll-ms 100] [--step-timeout-seconds 60] ' +
  '[--settle-cpu-pct 1] [--systems hearsay,serf] [--hearsay-entry bin/hearsay.js] [--serf-binary serf]';

/** Runs the comparison; `bench` names the command in errors, `fixedSystems` pins the systems (bench:cluster, bench:serf). */
export async function main(bench = 'bench:vs-serf', usage = USAGE, fixedSystems?: readonly SystemName[]): Promise<void> {
  const args = benchArgs(bench, usage, {
    nodes: { type: 'int', default: 10, min: 4, below: 201 },
    runs: { type: 'int', default: 1, min: 1 },
    json: { type: 'boolean' },
    'idle-seconds': { type: 'number', default: 30, min: 0 },
    'poll-ms': { type: 'int', default: 100, min: 10 },
    'settle-cpu-pct': { type: 'number', default: 1, min: 0 },
    'step-timeout-seconds': { type: 'number', default: 60, min: 1 },
    systems: { type: 'string', default: SYSTEMS.join(',') },
    'hearsay-entry': { type: 'string', default: DEFAULT_HEARSAY_ENTRY },
    'serf-binary': { type: 'string', default: 'serf' },
  });
  const fail = (message: string): never => {
    process.stderr.write(`${bench}: ${message}\nusage: ${usage}\n`);
    process.exit(2);
  };
  const names = fixedSystems ?? args.systems.split(',').map((s) => s.trim());
  for (const s of names) if (!(SYSTEMS as readonly string[]).includes(s)) fail(`--systems takes ${SYSTEMS.join(', ')} (got "${s}")`);
  if (names.includes('serf')) {
    try {
      execFileSync(args['serf-binary'], ['version'], { stdio: 'ignore' });
    } catch {
      fail(`cannot run ${args['serf-binary']}: install Serf (Debian: apt-get install serf) or name it with --serf-binary PATH`);
    }
  }
  const drivers: SystemDriver[] = (names as SystemName[]).map((s) =>
    s === 'hearsay' ? hearsayDriver(resolve(args['hearsay-entry'])) : serfDriver(args['serf-binary']),
  );
  const progress = (line: string): void => {
    if (!args.json) process.stderr.write(`${line}\n`);
  };
  const loadAvgStart = loadavg().map((x) => round(x, 2));
  const results: RunResult[] = [];
  for (let r = 1; r <= args.runs; r++) {
    for (const d of drivers) {
      const res = await runOnce(d, r, {
        nodes: args.nodes,
        idleSeconds: args['idle-seconds'],
        pollMs: args['poll-ms'],
        stepTimeoutMs: args['step-timeout-seconds'] * 1000,
        settleCpuPct: args['settle-cpu-pct'],
        progress,
      });
      results.push(res);
      if (args.json) process.stdout.write(`${JSON.stringify(res)}\n`);
    }
  }
  const summary: Record<string, unknown> = {
    type: 'summary',
    nodes: args.nodes,
    runs: args.runs,
    pollMs: args['poll-ms'],
    idleSeconds: args['idle-seconds'],
    settleCpuPct: args['settle-cpu-pct'],
    loadAvgStart,
    loadAvgEnd: loadavg().map((x) => round(x, 2)),
    commands: Object.fromEntries(drivers.map((d) => [d.name, d.describe])),
  };
  const medians = new Map<SystemName, Record<string, number | null>>();
  for (const d of drivers) {
    const mine = results.filter((x) => x.system === d.name);
    const out: Record<string, number | null> = {};
    for (const k of METRIC_KEYS) {
      const xs = mine.map((x) => x[k]).filter((v): v is number => v !== null);
      const v = median(xs);
      out[k] = v === null ? null : round(v, k.startsWith('joinCall') || k.startsWith('cpu') ? 2 : k.startsWith('rss') || k.startsWith('node') ? 1 : 0);
    }
    out.failedRuns = mine.filter((x) => x.error !== undefined).length;
    medians.set(d.name, out);
    summary[d.name] = out;
  }
  const h = medians.get('hearsay');
  const s = medians.get('serf');
  if (h !== undefined && s !== undefined) {
    const ratio: Record<string, number | null> = {};
    for (const k of METRIC_KEYS) {
      const a = h[k];
      const b = s[k];
      ratio[k] = k === 'nodeFloorRssMb' || a === null || a === undefined || b === null || b === undefined || b === 0 ? null : round(a / b, 2);
    }
    summary.ratio = ratio;
  }
  process.stdout.write(args.json ? `${JSON.stringify(summary)}\n` : `${JSON.stringify(summary, null, 2)}\n`);
  if (results.some((x) => x.error !== undefined)) process.exitCode = 1;
}

const invoked = process.argv[1] === undefined ? '' : resolve(process.argv[1]);
if (invoked.endsWith('vs-serf.ts') || invoked.endsWith('vs-serf.js')) await main();
