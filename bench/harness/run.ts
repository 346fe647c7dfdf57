/**
 * One run of the comparison scenario on one system, N agents on 127.0.0.1:
 *
 *   1. spawn agent 1 alone and time until its API answers (spawnToApiMs); spawn the other N-1 at
 *      once and time until all answer (spawnAllToApiMs). "Answers" is a member-list call over a
 *      fresh connection, retried every 5 ms; that connection then stays open as the agent's poll
 *      connection, and a second one per agent carries the join and leave calls.
 *   2. wait until the agents have settled: the start's deferred work done, every agent averaging at
 *      most settleCpuPct % of a core over one second (settleMs; at most stepTimeoutMs, then the
 *      run goes on and says so). hearsay agents warm their join path a second after start (a
 *      throwaway join, agent/warm-up.ts) and write V8's code cache; 59 of them spawned at once do
 *      that all at once, and join calls made then timed that burst, not a join. Serf settles at once.
 *      Then poll every agent's member list every pollMs (observer.ts); join agents 2..N to agent 1 one
 *      call at a time, each awaited (joinCall*), and time from the first call until every agent
 *      lists all N alive (joinTotalMs), and from the end of the last call (convergeAfterLastJoinMs).
 *   3. an idle window: polling paused for idleSeconds; then RSS of every agent (VmRSS of
 *      /proc/PID/status) and its CPU share over the window, beside a bare Node process holding one
 *      UDP and one TCP socket (nodeFloorRssMb, the floor issue 12 point 4 measures RSS against).
 *   4. kill -9 agent floor(N/2): time until the first other agent lists it suspect (hearsay only:
 *      Serf lists no suspect status) and until every other lists it dead (Serf: failed).
 *   5. a graceful leave of agent floor(N/2)+2 through its API: time from the call until every
 *      remaining agent lists it left.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { loadavg } from 'node:os';
import { percentile, round } from '../support.js';
import { Observer } from './observer.js';
import type { AgentApi, SystemDriver, SystemName } from './systems.js';

export interface RunOptions {
  readonly nodes: number;
  readonly idleSeconds: number;
  readonly pollMs: number;
  /** Longest wait for one step (readiness, convergence, detection, leave), ms. */
  readonly stepTimeoutMs: number;
  /** Settled: every agent's CPU over one second at most this % of a core, on average (0: no wait). */
  readonly settleCpuPct: number;
  /** Progress lines for a person (not in --json). */
  readonly progress: (line: string) => void;
}

/** The metrics of one run; every time in wall milliseconds, null when the step timed out or does not apply. */
export interface RunMetrics {
  readonly convergeAfterLastJoinMs: number | null;
  readonly joinTotalMs: number | null;
  readonly joinCallP50Ms: number | null;
  readonly joinCallP99Ms: number | null;
  readonly joinCallFirstMs: number | null;
  readonly joinCallMaxMs: number | null;
  readonly killToFirstSuspectMs: number | null;
  readonly killToDeadEverywhereMs: number | null;
  readonly leaveToLeftEverywhereMs: number | null;
  readonly rssPerAgentMb: number | null;
  readonly rssPerAgentMbMax: number | null;
  readonly nodeFloorRssMb: number | null;
  readonly cpuPctPerAgentIdle: number | null;
  readonly spawnToApiMs: number | null;
  readonly spawnAllToApiMs: number | null;
  /** All answering -> settled (step 2), ms; null when they did not settle within stepTimeoutMs. */
  readonly settleMs: number | null;
  /** Poll connections opened beyond one per agent (the agent closed an idle one; hearsay's HTTP server does after 5 s). */
  readonly pollReconnects: number;
}

export interface RunResult extends RunMetrics {
  readonly type: 'run';
  readonly system: SystemName;
  readonly run: number;
  readonly nodes: number;
  readonly loadAvgStart: readonly number[];
  readonly loadAvgEnd: readonly number[];
  /** Set when the run could not finish; the metrics it had are kept, the rest null. */
  readonly error?: string;
}

export const METRIC_KEYS = [
  'convergeAfterLastJoinMs',
  'joinTotalMs',
  'joinCallP50Ms',
  'joinCallP99Ms',
  'joinCallFirstMs',
  'joinCallMaxMs',
  'killToFirstSuspectMs',
  'killToDeadEverywhereMs',
  'leaveToLeftEverywhereMs',
  'rssPerAgentMb',
  'rssPerAgentMbMax',
  'nodeFloorRssMb',
  'cpuPctPerAgentIdle',
  'spawnToApiMs',
  'spawnAllToApiMs',
  'settleMs',
] as const satisfies readonly (keyof RunMetrics)[];

// ---- processes: every one this harness starts is killed on every exit path ----

const children = new Set<ChildProcess>();
let cleanupInstalled = false;

function killChildren(): void {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

function track(child: ChildProcess): ChildProcess {
  if (!cleanupInstalled) {
    cleanupInstalled = true;
    process.on('exit', killChildren);
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.once(sig, () => {
        killChildren();
        process.exit(sig === 'SIGINT' ? 130 : 143);
      });
    }
  }
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

// ---- ports ----

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ host: '127.0.0.1', port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** The kernel's ephemeral port range (where outgoing connections take their local ports). */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo !== undefined && hi !== undefined && Number.isInteger(lo) && Number.isInteger(hi)) return [lo, hi];
  } catch {
    // not Linux: the IANA range
  }
  return [49152, 65535];
}

/**
 * A loopback port nothing listens on now, not in `taken` (and free for UDP too when `udp`),
 * outside the ephemeral range: a port picked there (port 0) may become the local port of one of
 * the many connections opened before the agent binds it, and the agent exits with EADDRINUSE
 * (seen at N = 60, where 59 hearsay agents take seconds to start).
 */
async function freePort(taken: Set<number>, udp: boolean): Promise<number> {
  const [lo, hi] = ephemeralRange();
  const [from, to] = lo > 12_000 ? [10_000, lo - 1] : [hi + 1, 65_535];
  for (let i = 0; i < 1000; i++) {
    const p = from + Math.floor(Math.random() * (to - from + 1));
    if (taken.has(p) || !(await tcpFree(p)) || (udp && !(await udpFree(p)))) continue;
    taken.add(p);
    return p;
  }
  throw new Error(`found no free loopback port in ${from}-${to} in 1000 tries`);
}

// ---- /proc ----

function rssMb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? null : Number(m[1]) / 1024;
  } catch {
    return null;
  }
}

function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, USER_HZ = 100
  } catch {
    return null;
  }
}

/**
 * When the processes `pids` together used at most `pct` % of a core each, on average, over one
 * second (read from /proc in 1 s windows, USER_HZ ticks); null at `deadline`.
 */
async function whenSettled(pids: readonly number[], pct: number, deadline: number): Promise<number | null> {
  const total = (): number => pids.reduce((sum, pid) => sum + (cpuSeconds(pid) ?? 0), 0);
  let before = total();
  let at = performance.now();
  while (performance.now() < deadline) {
    await sleep(1000);
    const now = total();
    const t = performance.now();
    if (((now - before) / ((t - at) / 1000)) * 100 <= pct * pids.length) return t;
    before = now;
    at = t;
  }
  return null;
}

const FLOOR_SCRIPT =
  "const d=require('node:dgram').createSocket('udp4');d.bind(0,'127.0.0.1');" +
  "require('node:net').createServer().listen(0,'127.0.0.1',()=>process.stdout.write('ready\\n'));";

/** A bare Node process holding one UDP and one TCP socket, once it holds them. */
function spawnNodeFloor(): Promise<ChildProcess> {
  const child = track(spawn(process.execPath, ['-e', FLOOR_SCRIPT], { stdio: ['ignore', 'pipe', 'ignore'] }));
  return new Promise((resolve, reject) => {
    child.stdout?.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`the bare Node process exited (code ${String(code)})`)));
  });
}

// ---- the run ----

interface Agent {
  readonly name: string;
  readonly gossip: string;
  readonly apiPort: number;
  readonly child: ChildProcess;
  poll?: AgentApi;
  control?: AgentApi;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const ms = (x: number | null, digits = 0): number | null => (x === null ? null : round(x, digits));

/** Connects to the agent's API, retrying every 5 ms; rejects when the agent exits or the deadline passes. */
async function whenAnswering(driver: SystemDriver, agent: Agent, deadline: number): Promise<AgentApi> {
  let exited: string | null = null;
  agent.child.once('exit', (code, signal) => {
    exited = `code ${String(code)}, signal ${String(signal)}`;
  });
  let last = '';
  while (performance.now() < deadline) {
    if (exited !== null) throw new Error(`${driver.name} agent ${agent.name} exited before its API answered (${exited as string})`);
    try {
      return await driver.connect(agent.apiPort);
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(5);
  }
  throw new Error(`${driver.name} agent ${agent.name}: API did not answer on 127.0.0.1:${agent.apiPort} in time (last: ${last})`);
}

export async function runOnce(driver: SystemDriver, run: number, opts: RunOptions): Promise<RunResult> {
  const n = opts.nodes;
  const loadAvgStart = loadavg().map((x) => round(x, 2));
  const m: { -readonly [K in keyof RunMetrics]: RunMetrics[K] } = {
    convergeAfterLastJoinMs: null,
    joinTotalMs: null,
    joinCallP50Ms: null,
    joinCallP99Ms: null,
    joinCallFirstMs: null,
    joinCallMaxMs: null,
    killToFirstSuspectMs: null,
    killToDeadEverywhereMs: null,
    leaveToLeftEverywhereMs: null,
    rssPerAgentMb: null,
    rssPerAgentMbMax: null,
    nodeFloorRssMb: null,
    cpuPctPerAgentIdle: null,
    spawnToApiMs: null,
    spawnAllToApiMs: null,
    settleMs: null,
    pollReconnects: 0,
  };
  const agents: Agent[] = [];
  let observer: Observer | null = null;
  let floor: ChildProcess | null = null;
  let error: string | undefined;
  const say = (line: string): void => opts.progress(`${driver.name} run ${run}: ${line}`);
  try {
    const taken = new Set<number>();
    for (let i = 1; i <= n; i++) {
      const gossipPort = await freePort(taken, true);
      const apiPort = await freePort(taken, false);
      agents.push({ name: `node-${i}`, gossip: `127.0.0.1:${gossipPort}`, apiPort, child: undefined as unknown as ChildProcess });
    }
    const start = (a: Agent): Agent => {
      const port = Number(a.gossip.slice(a.gossip.lastIndexOf(':') + 1));
      return Object.assign(a, { child: track(driver.spawn(a.name, port, a.apiPort)) });
    };

    // 1. Spawn -> API answers: one alone, then N-1 at once.
    const first = agents[0] as Agent;
    let t0 = performance.now();
    start(first);
    first.poll = await whenAnswering(driver, first, t0 + opts.stepTimeoutMs);
    m.spawnToApiMs = ms(performance.now() - t0);
    t0 = performance.now();
    const rest = agents.slice(1);
    for (const a of rest) start(a);
    await Promise.all(rest.map(async (a) => (a.poll = await whenAnswering(driver, a, t0 + opts.stepTimeoutMs))));
    m.spawnAllToApiMs = ms(performance.now() - t0);
    say(`spawned: one alone answered in ${m.spawnToApiMs} ms, ${n - 1} at once in ${m.spawnAllToApiMs} ms`);

    // The control connections, opened (and asked once) now, so no join call pays for a connect.
    for (const a of agents) a.control = await driver.connect(a.apiPort);

    // 2. Settled, then sequential awaited joins, observed.
    if (opts.settleCpuPct > 0) {
      const settleStart = performance.now();
      const at = await whenSettled(agents.map((a) => a.child.pid ?? -1), opts.settleCpuPct, settleStart + opts.stepTimeoutMs);
      m.settleMs = at === null ? null : ms(at - settleStart);
      say(at === null ? `not settled within ${opts.stepTimeoutMs} ms: joining anyway` : `settled ${m.settleMs} ms after all answered`);
    }
    const names = agents.map((a) => a.name);
    observer = new Observer(new Map(agents.map((a) => [a.name, a.poll as AgentApi])), opts.pollMs);
    observer.start();
    const allAlive = observer.waitAll(names, (v) => names.every((nm) => v.get(nm) === 'alive'), opts.stepTimeoutMs);
    const joinStart = performance.now();
    const calls: number[] = [];
    for (const a of rest) {
      const t = performance.now();
      const joined = await (a.control as AgentApi).join(first.gossip);
      calls.push(performance.now() - t);
      if (joined < 1) throw new Error(`${a.name}'s join through ${first.gossip} joined ${joined}`);
    }
    const lastJoinEnd = performance.now();
    const sorted = [...calls].sort((x, y) => x - y);
    m.joinCallP50Ms = ms(percentile(sorted, 50), 2);
    m.joinCallP99Ms = ms(percentile(sorted, 99), 2);
    m.joinCallFirstMs = ms(calls[0] ?? null, 2);
    m.joinCallMaxMs = ms(sorted[sorted.length - 1] ?? null, 2);
    const aliveAt = await allAlive;
    if (aliveAt === null) throw new Error(`the ${n} agents did not all list all ${n} alive within ${opts.stepTimeoutMs} ms`);
    m.joinTotalMs = ms(aliveAt - joinStart);
    m.convergeAfterLastJoinMs = ms(Math.max(0, aliveAt - lastJoinEnd));
    say(`joined: calls p50 ${m.joinCallP50Ms} ms p99 ${m.joinCallP99Ms} ms; all alive everywhere ${m.joinTotalMs} ms after the first call, ${m.convergeAfterLastJoinMs} ms after the last`);

    // 3. The idle window.
    observer.pause();
    floor = await spawnNodeFloor();
    const cpu0 = agents.map((a) => cpuSeconds(a.child.pid ?? -1));
    const idleStart = performance.now();
    await sleep(opts.idleSeconds * 1000);
    const idleS = (performance.now() - idleStart) / 1000;
    const rss = agents.map((a) => rssMb(a.child.pid ?? -1)).filter((v): v is number => v !== null);
    const cpu = agents.map((a, i) => {
      const c1 = cpuSeconds(a.child.pid ?? -1);
      const c0 = cpu0[i];
      return c1 === null || c0 === null || c0 === undefined ? null : ((c1 - c0) / idleS) * 100;
    });
    const rssSorted = rss.sort((x, y) => x - y);
    m.rssPerAgentMb = ms(percentile(rssSorted, 50), 1);
    m.rssPerAgentMbMax = ms(rssSorted[rssSorted.length - 1] ?? null, 1);
    m.nodeFloorRssMb = ms(rssMb(floor.pid ?? -1), 1);
    m.cpuPctPerAgentIdle = ms(percentile(cpu.filter((v): v is number => v !== null).sort((x, y) => x - y), 50), 2);
    floor.kill('SIGKILL');
    floor = null;
    observer.resume();
    say(`idle ${opts.idleSeconds} s: RSS per agent ${m.rssPerAgentMb} MB (max ${m.rssPerAgentMbMax}; bare Node ${m.nodeFloorRssMb}), CPU ${m.cpuPctPerAgentIdle} %`);

    // 4. kill -9.
    const victim = agents[Math.floor(n / 2)] as Agent;
    const leaver = agents[(Math.floor(n / 2) + 2) % n] as Agent;
    observer.drop(victim.name);
    const others = names.filter((nm) => nm !== victim.name);
    const suspectAt = driver.name === 'serf' ? Promise.resolve(null) : observer.waitAny(others, (v) => v.get(victim.name) === 'suspect', opts.stepTimeoutMs);
    const deadAt = observer.waitAll(others, (v) => v.get(victim.name) === 'dead', opts.stepTimeoutMs);
    const killAt = performance.now();
    victim.child.kill('SIGKILL');
    const [s, d] = await Promise.all([suspectAt, deadAt]);
    m.killToFirstSuspectMs = s === null ? null : ms(s - killAt);
    m.killToDeadEverywhereMs = d === null ? null : ms(d - killAt);
    say(`kill -9 ${victim.name}: first suspect ${String(m.killToFirstSuspectMs)} ms, dead everywhere ${String(m.killToDeadEverywhereMs)} ms`);

    // 5. Graceful leave through the API.
    observer.drop(leaver.name);
    const remaining = others.filter((nm) => nm !== leaver.name);
    const leftAt = observer.waitAll(remaining, (v) => v.get(leaver.name) === 'left', opts.stepTimeoutMs);
    const leaveAt = performance.now();
    void (leaver.control as AgentApi).leave().catch(() => undefined);
    const l = await leftAt;
    m.leaveToLeftEverywhereMs = l === null ? null : ms(l - leaveAt);
    say(`leave ${leaver.name}: left everywhere ${String(m.leaveToLeftEverywhereMs)} ms`);
  } catch (err) {
    error = (err as Error).message;
    say(`failed: ${error}`);
  } finally {
    await observer?.stop();
    for (const a of agents) {
      m.pollReconnects += Math.max(0, (a.poll?.connections() ?? 1) - 1);
      a.poll?.close();
      a.control?.close();
    }
    floor?.kill('SIGKILL');
    await Promise.all(
      agents
        .filter((a) => a.child !== undefined && a.child.exitCode === null && a.child.signalCode === null)
        .map(
          (a) =>
            new Promise<void>((resolve) => {
              a.child.once('exit', () => resolve());
              a.child.kill('SIGKILL');
            }),
        ),
    );
  }
  return { type: 'run', system: driver.name, run, nodes: n, ...m, loadAvgStart, loadAvgEnd: loadavg().map((x) => round(x, 2)), ...(error === undefined ? {} : { error }) };
}
