/**
 * bench:light — how light an agent process is (issue 12, point 4), measured in one run against the
 * bare Node process floor (bench/light-floor.mjs: a Node process holding one UDP and one TCP socket,
 * spawned the same way as an agent).
 *
 *   npm run bench:light -- [--nodes 60] [--soak-seconds 600] [--runs 7] [--settle-seconds 20]
 *                          [--sample-seconds 30] [--entry FILE] [--node-args "FLAGS"] [--json]
 *
 * Every agent is `node ENTRY agent --bind 127.0.0.1:0 --http 127.0.0.1:0 --dns 127.0.0.1:0
 * --profile lan` (ENTRY defaults to bin/hearsay.js, what `npx hearsay agent` runs; `npm run
 * bench:light` builds first, so that is the built bundle). In order:
 *
 *   1. the floor, `runs` times alone: spawn -> its TCP answer; the last one stays up;
 *   2. one agent kept up 2 s (a first run writes the code cache), then one agent, `runs` times alone: spawn -> its first HTTP answer (GET /v1/members after the
 *      ready line); the last one stays up as the seed of the mesh;
 *   3. nodes - 1 floors spawned at once (the machine's own bound for a burst), stopped; then
 *      nodes - 1 agents spawned at once, each joining the seed: spawn -> answer of each;
 *   4. once the seed lists all nodes alive, `settle-seconds` idle, then the RSS of every agent and
 *      of the floor at the same moment;
 *   5. 50 GET /v1/members from the seed one after another (what a lever costs in JS speed);
 *   6. `soak-seconds` more idle, sampling every agent's RSS every `sample-seconds`, and the CPU
 *      every agent used over the soak.
 *
 * "CPU at answer" is the process's CPU time (every thread, /proc/PID/task/TID/schedstat, ns) when
 * its answer arrived: the cost of one start, which bounds how many can start at once on 2 cores.
 *
 * Output with --json: one line with the keys (MB are 2^20 bytes; ms wall time unless named CPU)
 *   nodes, runs, entry, nodeArgs, loadAvgStart, loadAvgEnd ([1, 5, 15] minutes)
 *   floorRssMb, floorRssAnonMb            the floor's RSS (and its anonymous part) at step 4
 *   floorSpawnToAnswerMs, floorCpuMs      medians over `runs` floors
 *   firstSpawnToAnswerMs                  the warm-up agent (started first, kept 2 s so that it writes
 *                                         V8's code cache): a first start with no cache, if none was there
 *   spawnToAnswerMs, spawnToAnswerMsMax   one agent alone: median and max over `runs`
 *   startCpuMs                            one agent alone: median CPU at answer
 *   floorBurstAllAnswerMs                 nodes - 1 floors at once: first spawn -> last answer
 *   burstAgents                           nodes - 1
 *   burstAllAnswerMs                      first spawn -> last answer
 *   burstSlowestMs, burstMedianMs         per agent spawn -> answer: the slowest, the median
 *   burstCpuMsMedian                      per agent CPU at answer, median
 *   converged                             the seed listed all nodes alive (within 60 s)
 *   rssMbMedian, rssMbMax                 idle RSS over all nodes agents at step 4
 *   rssAnonMbMedian                       its anonymous part (heap, buffers; not the mapped binary)
 *   rssOverFloorMbMedian, rssOverFloorMbMax   the same minus floorRssMb
 *   apiMsMedian                           GET /v1/members of all nodes on the seed, median of 50
 *   soakSeconds, soakSamples
 *   idleCpuPctMedian                      CPU per agent over the soak, % of one core, median
 *   soakRssMbStart, soakRssMbEnd          median RSS over agents at the first and last sample
 *   soakSlopeMbPerMin                     least-squares slope of that median over the soak
 *   soakMaxAgentGrowthMb                  the largest (last - first sample) of any one agent
 *   soakFloorGrowthMb                     the floor's (last - first sample)
 *   pass: {rss, soak, spawn, burst}       against issue 12.4: rssOverFloorMbMax <= 8, soak growth
 *                                         (median end - start) <= 1 MB, spawnToAnswerMs <= 80,
 *                                         burstAllAnswerMs <= 2000 (null where not measured)
 *
 * Run it under `flock /tmp/hearsay-heavy.lock` on a shared machine; the load average is in the output.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { getJson } from '../src/cluster/local-cluster.js';
import { benchArgs, median, round } from './support.js';

const args = benchArgs(
  'bench:light',
  'npm run bench:light -- [--nodes 60] [--soak-seconds 600] [--runs 7] [--settle-seconds 20] [--sample-seconds 30] [--entry FILE] [--node-args "FLAGS"] [--json]',
  {
    nodes: { type: 'int', default: 60, min: 2 },
    'soak-seconds': { type: 'int', default: 600, min: 0 },
    runs: { type: 'int', default: 7, min: 1 },
    'settle-seconds': { type: 'int', default: 20, min: 0 },
    'sample-seconds': { type: 'int', default: 30, min: 1 },
    entry: { type: 'string', default: fileURLToPath(new URL('../bin/hearsay.js', import.meta.url)) },
    'node-args': { type: 'string', default: '' },
    json: { type: 'boolean' },
  },
);
const FLOOR = fileURLToPath(new URL('./light-floor.mjs', import.meta.url));
const nodeArgs = args['node-args'].split(/\s+/).filter((a) => a !== '');
const START_TIMEOUT_MS = 30_000;
const say = (line: string): void => void process.stderr.write(`bench:light: ${line}\n`);

interface Started {
  readonly child: ChildProcess;
  /** Spawn -> answer, ms. */
  readonly ms: number;
  /** CPU time of the process when its answer arrived, ms. */
  readonly cpuMs: number;
  readonly match: RegExpExecArray;
}

const children = new Set<ChildProcess>();
const killAll = (): void => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
};
process.on('exit', killAll);
for (const s of ['SIGINT', 'SIGTERM'] as const)
  process.once(s, () => {
    killAll();
    process.exit(130);
  });

/** CPU time of every thread of `pid` so far, ms (schedstat's first field is ns on the CPU); NaN once it is gone. */
function cpuMs(pid: number): number {
  let ns = 0;
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return NaN; // gone
  }
  for (const tid of tids) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return ns / 1e6;
}

/** VmRSS and RssAnon of `pid` in MB, or null once it is gone. */
function memory(pid: number): { rss: number; anon: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
    return { rss: kb('VmRSS') / 1024, anon: kb('RssAnon') / 1024 };
  } catch {
    return null;
  }
}

/** Spawns `node ...argv`, waits for a stdout line matching `ready`, then `ask`s it; times both. */
function start(argv: readonly string[], ready: RegExp, ask: (m: RegExpExecArray) => Promise<unknown>): Promise<Started> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, ...argv], { stdio: ['ignore', 'pipe', 'ignore'] });
  children.add(child);
  return new Promise<Started>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${argv.join(' ')}: no answer within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    const onExit = (code: number | null, signal: string | null): void => {
      clearTimeout(timer);
      reject(new Error(`${argv.join(' ')} exited before it answered (code ${String(code)}, signal ${String(signal)})`));
    };
    child.once('exit', onExit);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const m = ready.exec(line);
      if (m === null) return;
      ask(m).then(
        () => {
          const ms = performance.now() - t0;
          const cpu = cpuMs(child.pid as number);
          clearTimeout(timer);
          child.off('exit', onExit);
          resolve({ child, ms, cpuMs: cpu, match: m });
        },
        (err: unknown) => {
          clearTimeout(timer);
          child.kill('SIGKILL');
          reject(err as Error);
        },
      );
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  children.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

const FLOOR_READY = /^floor listening on udp (\d+) tcp (\d+)/;
const AGENT_READY = /^hearsay agent (\S+) listening on (\S+) \(http (\S+)\)/;

function tcpAnswer(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('data', () => {
      s.destroy();
      resolve();
    });
    s.once('error', reject);
  });
}

const startFloor = (): Promise<Started> => start([FLOOR], FLOOR_READY, (m) => tcpAnswer(Number(m[2])));
const startAgent = (name: string, join?: string): Promise<Started> =>
  start(
    [args.entry, 'agent', '--name', name, '--bind', '127.0.0.1:0', '--http', '127.0.0.1:0', '--dns', '127.0.0.1:0', '--profile', 'lan', ...(join === undefined ? [] : ['--join', join])],
    AGENT_READY,
    (m) => getJson(m[3] as string, '/v1/members', 10_000),
  );

/** Starts `runs` processes one after another, keeping the last one running. */
async function alone(startOne: (i: number) => Promise<Started>): Promise<{ runs: Started[]; kept: Started }> {
  const runs: Started[] = [];
  for (let i = 0; i < args.runs; i++) {
    const s = await startOne(i);
    runs.push(s);
    if (i < args.runs - 1) await stop(s.child);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { runs, kept: runs[runs.length - 1] as Started };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const r1 = (x: number | null): number | null => (x === null ? null : round(x, 1));
const load = (): number[] => loadavg().map((l) => round(l, 2));

function slopePerMinute(points: readonly (readonly [number, number])[]): number | null {
  if (points.length < 2) return null;
  const n = points.length;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  const sxy = points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0);
  const sxx = points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  return sxx === 0 ? null : (sxy / sxx) * 60_000;
}

async function main(): Promise<void> {
  const loadAvgStart = load();
  say(`entry ${args.entry}${nodeArgs.length > 0 ? ` (node ${nodeArgs.join(' ')})` : ''}; load ${loadAvgStart.join(' ')}`);

  const floor = await alone(() => startFloor());
  say(`floor: spawn -> answer ${round(median(floor.runs.map((s) => s.ms)) ?? NaN, 1)} ms median`);

  // An agent's first run writes V8's code cache for the bundle (bin/hearsay.js) after a second:
  // one agent kept up 2 s first, so that the runs below start as every later agent does.
  const warm = await startAgent('light-warm-up');
  await sleep(2000);
  await stop(warm.child);
  const coldMs = warm.ms;

  const single = await alone((i) => startAgent(i === args.runs - 1 ? 'light-0' : `light-alone-${i}`));
  const singleMs = single.runs.map((s) => s.ms);
  say(`one agent: spawn -> answer ${round(median(singleMs) ?? NaN, 1)} ms median, cpu ${round(median(single.runs.map((s) => s.cpuMs)) ?? NaN, 1)} ms`);
  const seed = single.kept;
  const seedHttp = seed.match[3] as string;

  const floorBurstStart = performance.now();
  const floorBurst = await Promise.all(Array.from({ length: args.nodes - 1 }, () => startFloor()));
  const floorBurstAllAnswerMs = performance.now() - floorBurstStart;
  await Promise.all(floorBurst.map((s) => stop(s.child)));
  say(`${floorBurst.length} floors at once: all answered in ${round(floorBurstAllAnswerMs)} ms`);
  await sleep(1000);

  const burstStart = performance.now();
  const burst = await Promise.all(Array.from({ length: args.nodes - 1 }, (_, i) => startAgent(`light-${i + 1}`, seed.match[2] as string)));
  const burstAllAnswerMs = performance.now() - burstStart;
  say(`${burst.length} agents at once: all answered in ${round(burstAllAnswerMs)} ms`);

  let converged = false;
  const convergeDeadline = performance.now() + 60_000;
  while (performance.now() < convergeDeadline) {
    const rows = await getJson<{ status: string }[]>(seedHttp, '/v1/members').catch(() => []);
    if (rows.filter((r) => r.status === 'alive').length === args.nodes) {
      converged = true;
      break;
    }
    await sleep(250);
  }
  say(converged ? `the seed lists all ${args.nodes} alive; idle ${args['settle-seconds']} s` : `the seed did not list all ${args.nodes} alive within 60 s`);
  await sleep(args['settle-seconds'] * 1000);

  const agents = [seed, ...burst].map((s) => s.child.pid as number);
  const floorPid = floor.kept.child.pid as number;
  const sample = (): { agents: ({ rss: number; anon: number } | null)[]; floor: { rss: number; anon: number } | null; at: number } => ({
    agents: agents.map(memory),
    floor: memory(floorPid),
    at: performance.now(),
  });
  const idle = sample();
  const idleRss = idle.agents.filter((m) => m !== null).map((m) => m.rss);
  const floorRss = idle.floor?.rss ?? null;

  const apiMs: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t = performance.now();
    await getJson(seedHttp, '/v1/members');
    apiMs.push(performance.now() - t);
  }

  const samples = [idle];
  const cpuAtSoakStart = agents.map(cpuMs);
  if (args['soak-seconds'] > 0) {
    const soakEnd = performance.now() + args['soak-seconds'] * 1000;
    while (performance.now() < soakEnd) {
      await sleep(Math.min(args['sample-seconds'] * 1000, Math.max(0, soakEnd - performance.now())));
      samples.push(sample());
      const last = samples[samples.length - 1] as (typeof samples)[number];
      say(`soak ${round((last.at - idle.at) / 1000)} s: median rss ${round(median(last.agents.filter((m) => m !== null).map((m) => m.rss)) ?? NaN, 1)} MB`);
    }
  }
  const soakWallMs = performance.now() - idle.at;
  const idleCpuPct = agents.map((pid, i) => ((cpuMs(pid) - (cpuAtSoakStart[i] as number)) / soakWallMs) * 100);
  const medianRss = (s: (typeof samples)[number]): number | null => median(s.agents.filter((m) => m !== null).map((m) => m.rss));
  const first = samples[0] as (typeof samples)[number];
  const last = samples[samples.length - 1] as (typeof samples)[number];
  const soaked = samples.length > 1;
  const growth = agents.map((_, i) => (last.agents[i]?.rss ?? NaN) - (first.agents[i]?.rss ?? NaN)).filter((g) => Number.isFinite(g));
  const overMax = floorRss === null || idleRss.length === 0 ? null : Math.max(...idleRss) - floorRss;
  const spawnMedian = median(singleMs);
  const soakGrowth = soaked ? (medianRss(last) ?? NaN) - (medianRss(first) ?? NaN) : null;

  const result = {
    nodes: args.nodes,
    runs: args.runs,
    entry: args.entry,
    nodeArgs: args['node-args'],
    loadAvgStart,
    floorRssMb: r1(floorRss),
    floorRssAnonMb: r1(idle.floor?.anon ?? null),
    floorSpawnToAnswerMs: r1(median(floor.runs.map((s) => s.ms))),
    floorCpuMs: r1(median(floor.runs.map((s) => s.cpuMs))),
    firstSpawnToAnswerMs: r1(coldMs),
    spawnToAnswerMs: r1(spawnMedian),
    spawnToAnswerMsMax: r1(Math.max(...singleMs)),
    startCpuMs: r1(median(single.runs.map((s) => s.cpuMs))),
    floorBurstAllAnswerMs: r1(floorBurstAllAnswerMs),
    burstAgents: burst.length,
    burstAllAnswerMs: r1(burstAllAnswerMs),
    burstSlowestMs: r1(Math.max(...burst.map((s) => s.ms))),
    burstMedianMs: r1(median(burst.map((s) => s.ms))),
    burstCpuMsMedian: r1(median(burst.map((s) => s.cpuMs))),
    converged,
    rssMbMedian: r1(median(idleRss)),
    rssMbMax: r1(idleRss.length === 0 ? null : Math.max(...idleRss)),
    rssAnonMbMedian: r1(median(idle.agents.filter((m) => m !== null).map((m) => m.anon))),
    rssOverFloorMbMedian: r1(floorRss === null ? null : (median(idleRss) ?? NaN) - floorRss),
    rssOverFloorMbMax: r1(overMax),
    apiMsMedian: r1(median(apiMs)),
    soakSeconds: args['soak-seconds'],
    soakSamples: samples.length,
    soakRssMbStart: r1(soaked ? medianRss(first) : null),
    soakRssMbEnd: r1(soaked ? medianRss(last) : null),
    soakSlopeMbPerMin: soaked ? r1(slopePerMinute(samples.map((s) => [s.at, medianRss(s) ?? NaN] as const))) : null,
    soakMaxAgentGrowthMb: r1(soaked && growth.length > 0 ? Math.max(...growth) : null),
    idleCpuPctMedian: soaked ? round(median(idleCpuPct.filter((c) => Number.isFinite(c))) ?? NaN, 2) : null,
    soakFloorGrowthMb: r1(soaked && last.floor !== null && first.floor !== null ? last.floor.rss - first.floor.rss : null),
    loadAvgEnd: load(),
    pass: {
      rss: overMax === null ? null : overMax <= 8,
      soak: soakGrowth === null ? null : soakGrowth <= 1,
      spawn: spawnMedian === null ? null : spawnMedian <= 80,
      burst: args.nodes === 60 ? burstAllAnswerMs <= 2000 : null,
    },
  };
  killAll();
  if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else for (const [k, v] of Object.entries(result)) process.stdout.write(`${k.padEnd(24)} ${JSON.stringify(v)}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    say(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
