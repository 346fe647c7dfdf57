/**
 * The scenario `hearsay cluster` runs on a LocalCluster:
 *   1. start N agents (not joined), then ask agents 2..N to join agent 1 all at once and time how
 *      long until every agent lists all N alive;
 *   2. kill -9 one agent and time until every other lists it dead;
 *   3. SIGSTOP one agent for a while, SIGCONT it, and time until every other lists it alive again;
 *   4. SIGTERM one agent (a graceful leave) and time until every other lists it left.
 * Times are wall milliseconds, at the resolution of the poll interval.
 */
import { request } from 'node:http';
import { suspicionMinTimeoutMs } from '../membership/math.js';
import { isProfileName, PROFILES } from '../membership/options.js';
import { Eta } from '../util/eta.js';
import { LocalCluster, type LocalAgent, type MemberRow } from './local-cluster.js';

export interface ScenarioOptions {
  readonly nodes: number;
  readonly profile: string;
  /** How long the paused agent stays stopped, ms. @default 3 × probe interval of the profile */
  readonly pauseMs?: number;
  /** Longest wait for any one step, ms. @default 120000 */
  readonly stepTimeoutMs?: number;
  readonly pollMs?: number;
  /**
   * Progress for a person watching: a result line (`status` undefined) when a step ends, and a
   * status line (with `status`) at every poll while one runs.
   */
  readonly progress?: (line: string, status?: ScenarioStatus) => void;
  readonly logs?: 'ignore' | NodeJS.WritableStream;
  /** Passed to LocalCluster: the script run as `hearsay`. */
  readonly entry?: string;
}

export interface ScenarioResult {
  readonly nodes: number;
  readonly profile: string;
  /** From the join requests until every agent lists all N alive; null if never. */
  readonly joinConvergenceMs: number | null;
  /** From kill -9 until every other agent lists it dead. */
  readonly failureDetectionMs: number | null;
  /** From SIGCONT until every other agent lists the paused one alive. */
  readonly pauseRecoveryMs: number | null;
  /** How many agents held the paused one dead at its resume (a long pause may be a real death). */
  readonly pauseDeclaredDeadBy: number;
  /** From SIGTERM until every other agent lists it left. */
  readonly leaveMs: number | null;
  readonly steps: readonly string[];
}

/** Where a running scenario is: for progress lines such as "step 3/5  kill -9 node-3: 2/4 agents list it dead  ETA 6 s". */
export interface ScenarioStatus {
  /** The step running, from 1, and how many there are. */
  readonly step: number;
  readonly steps: number;
  /** What is happening, e.g. "converging: 3/5 agents list all 5 alive". */
  readonly what: string;
  /** Estimated wall milliseconds until the scenario ends; undefined before anything was measured. */
  readonly etaMs: number | undefined;
}

/** The scenario's steps: start, converge, kill -9, SIGSTOP/SIGCONT, leave. */
export const SCENARIO_STEPS = 5;

function post(hostPort: string, path: string, body: unknown): Promise<number> {
  const i = hostPort.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const data = Buffer.from(JSON.stringify(body));
    const req = request(
      {
        host: hostPort.slice(0, i).replace(/^\[|\]$/g, ''),
        port: Number(hostPort.slice(i + 1)),
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': data.length },
        timeout: 30_000,
        agent: false,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(data);
  });
}

const fmt = (ms: number | null): string => (ms === null ? 'never (timed out)' : `${(ms / 1000).toFixed(2)} s`);

export async function runScenario(opts: ScenarioOptions): Promise<ScenarioResult> {
  const say = opts.progress ?? (() => undefined);
  const timeout = opts.stepTimeoutMs ?? 120_000;
  const pollMs = opts.pollMs ?? 100;
  const cluster = new LocalCluster({ profile: opts.profile, logs: opts.logs ?? 'ignore', ...(opts.entry === undefined ? {} : { entry: opts.entry }) });
  const steps: string[] = [];
  const note = (line: string): void => {
    steps.push(line);
    say(line);
  };
  const timing = PROFILES[isProfileName(opts.profile) ? opts.profile : 'lan'];
  const probeMs = timing.probeIntervalMs;
  const pauseMs = opts.pauseMs ?? 3 * probeMs;
  // Expected wall time of each step (then measured): starting agents in batches of four, gossip
  // converging, a dead member's suspicion floor and a probe or two, the pause, a leave and exit.
  const eta = new Eta([
    Math.ceil(opts.nodes / 4) * 1000,
    2 * probeMs + 50 * opts.nodes,
    suspicionMinTimeoutMs(timing.suspicionMult, opts.nodes, probeMs) + 2 * probeMs,
    pauseMs + 2 * probeMs,
    probeMs + 1000,
  ], performance.now());
  let step = 0;
  let stepStart = performance.now();
  const begin = (i: number): void => {
    step = i;
    stepStart = performance.now();
  };
  const status = (what: string): void => {
    const now = performance.now();
    eta.update(step, now - stepStart, now);
    const etaMs = eta.remainingMs();
    say(`  ${what}`, { step: step + 1, steps: SCENARIO_STEPS, what, etaMs });
  };
  try {
    say(`starting ${opts.nodes} agents (profile ${opts.profile})...`);
    const names = Array.from({ length: opts.nodes }, (_, i) => `node-${i + 1}`);
    const agents: LocalAgent[] = [];
    // Start in small batches: a 2-core machine starting 60 Node processes at once stalls them all.
    for (let i = 0; i < names.length; i += 4) {
      agents.push(...(await Promise.all(names.slice(i, i + 4).map((n) => cluster.start(n)))));
      status(`${agents.length}/${opts.nodes} agents up`);
    }
    const first = agents[0] as LocalAgent;

    const allAlive = (v: Map<string, MemberRow>): boolean => names.every((n) => v.get(n)?.status === 'alive');
    begin(1);
    const joinAt = performance.now();
    await Promise.all(agents.slice(1).map((a) => post(a.http, '/v1/join', { addrs: [first.gossip] })));
    const joinConvergenceMs = await cluster.waitUntil(allAlive, {
      timeoutMs: timeout,
      pollMs,
      onPoll: (k, of) => status(`converging: ${k}/${of} agents list all ${opts.nodes} alive`),
    });
    const joinMs = joinConvergenceMs === null ? null : performance.now() - joinAt;
    note(`join of ${opts.nodes} agents seen by all: ${fmt(joinMs)}`);

    const pick = (k: number): LocalAgent => agents[k % agents.length] as LocalAgent;
    const victim = pick(Math.floor(opts.nodes / 2));
    const paused = pick(Math.floor(opts.nodes / 2) + 1);
    const leaver = pick(Math.floor(opts.nodes / 2) + 2);

    begin(2);
    cluster.kill(victim, 'SIGKILL');
    const failureDetectionMs = await cluster.waitUntil((v) => v.get(victim.name)?.status === 'dead', {
      timeoutMs: timeout,
      pollMs,
      except: [victim],
      onPoll: (k, of) => status(`kill -9 ${victim.name}: ${k}/${of} agents list it dead`),
    });
    note(`kill -9 of ${victim.name} seen as dead by all: ${fmt(failureDetectionMs)}`);

    begin(3);
    cluster.kill(paused, 'SIGSTOP');
    status(`SIGSTOP ${paused.name} for ${(pauseMs / 1000).toFixed(1)} s`);
    await new Promise((r) => setTimeout(r, pauseMs));
    const before = await cluster.views([paused, victim]);
    let pauseDeclaredDeadBy = 0;
    for (const v of before.values()) if (v?.get(paused.name)?.status === 'dead') pauseDeclaredDeadBy++;
    cluster.kill(paused, 'SIGCONT');
    const pauseRecoveryMs = await cluster.waitUntil((v) => v.get(paused.name)?.status === 'alive', {
      timeoutMs: timeout,
      pollMs,
      except: [paused, victim],
      onPoll: (k, of) => status(`SIGCONT ${paused.name}: ${k}/${of} agents list it alive`),
    });
    note(
      `SIGSTOP of ${paused.name} for ${(pauseMs / 1000).toFixed(1)} s, then SIGCONT: alive everywhere again after ${fmt(pauseRecoveryMs)}` +
        ` (${pauseDeclaredDeadBy} agents had declared it dead meanwhile)`,
    );

    begin(4);
    cluster.kill(leaver, 'SIGTERM');
    const leaveMs = await cluster.waitUntil((v) => v.get(leaver.name)?.status === 'left', {
      timeoutMs: timeout,
      pollMs,
      except: [leaver, victim],
      onPoll: (k, of) => status(`SIGTERM ${leaver.name}: ${k}/${of} agents list it left`),
    });
    note(`graceful leave of ${leaver.name} seen by all: ${fmt(leaveMs)}`);
    const exited = await cluster.exited(leaver);
    note(`${leaver.name} ${exited ? 'exited after leaving' : 'did NOT exit within 15 s of SIGTERM'}`);

    return {
      nodes: opts.nodes,
      profile: opts.profile,
      joinConvergenceMs: joinMs === null ? null : Math.round(joinMs),
      failureDetectionMs: failureDetectionMs === null ? null : Math.round(failureDetectionMs),
      pauseRecoveryMs: pauseRecoveryMs === null ? null : Math.round(pauseRecoveryMs),
      pauseDeclaredDeadBy,
      leaveMs: leaveMs === null ? null : Math.round(leaveMs),
      steps,
    };
  } finally {
    await cluster.close();
  }
}
