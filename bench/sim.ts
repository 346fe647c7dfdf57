/**
 * Simulator benchmark: builds a converged cluster of N nodes (tables seeded through the same merge
 * code), then on the real protocol measures a new node joining, one node crashing and one leaving,
 * and counts false deaths over the whole run. Times are simulated milliseconds unless named wall.
 *
 *   npm run bench:sim -- --nodes 1000 [--loss 0.1] [--seconds 60] [--seed 1] [--profile lan] [--instances-per-node K] --json
 *
 * With --instances-per-node K (> 0), every node carries K instances from the start (seeded converged,
 * replicas shared between simulated nodes until one changes), and the run goes on after --seconds with the state layer's phase
 * (bench/state-phase.ts): stateBytesPerFlip, registrationVisibleMs and bigJoinVisibleMs (a node
 * joining with 500 instances); the keys are null without it.
 */
import { seedEntries, statePhase } from './state-phase.js';
import { createWorld } from '../src/sim/index.js';
import { benchArgs, percentile } from './support.js';
import { isProfileName, PROFILES, type ProfileName } from '../src/membership/options.js';
import type { MembershipEvent } from '../src/membership/types.js';

const USAGE = 'npm run bench:sim -- --nodes N [--loss FRACTION] [--seconds SIM_S] [--seed S] [--profile lan|wan|local] [--instances-per-node K] [--json]';

function parse(): { nodes: number; loss: number; seconds: number; seed: number; profile: ProfileName; json: boolean; 'instances-per-node': number } {
  const a = benchArgs('bench:sim', USAGE, {
    nodes: { type: 'int', default: 1000, min: 4 },
    loss: { type: 'number', default: 0, min: 0, below: 1, hint: 'a fraction such as 0.1' },
    seconds: { type: 'number', default: 60, min: 20, hint: 'simulated seconds' },
    seed: { type: 'int', default: 1 },
    profile: { type: 'string', default: 'lan' },
    'instances-per-node': { type: 'int', default: 0, min: 0, hint: 'at most 1000, the default maxInstancesPerNode' },
    json: { type: 'boolean' },
  });
  if (a['instances-per-node'] > 1000) {
    process.stderr.write(`bench:sim: --instances-per-node must be at most 1000 (got ${a['instances-per-node']})\nusage: ${USAGE}\n`);
    process.exit(2);
  }
  if (!isProfileName(a.profile)) {
    process.stderr.write(`bench:sim: --profile must be lan, wan or local (got ${a.profile})\nusage: ${USAGE}\n`);
    process.exit(2);
  }
  return { ...a, profile: a.profile };
}

const round = (v: number | null): number | null => (v === null ? null : Math.round(v));

function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) {
    gc();
    gc();
  }
  // Typed arrays (most of the member table) live outside the JS heap: count them too.
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

function main(): void {
  const args = parse();
  const wallStart = performance.now();
  const probeMs = PROFILES[args.profile].probeIntervalMs;
  const world = createWorld({
    seed: args.seed,
    profile: args.profile,
    network: { link: { lossRate: args.loss, latency: { kind: 'lognormal', medianMs: 1, sigma: 0.5 } } },
  });

  const heapBefore = heapUsed();
  const names = world.buildConverged(args.nodes);
  const heapAfter = heapUsed();
  const entries = args.nodes * args.nodes;
  const bytesPerMemberEntry = Math.round((heapAfter - heapBefore) / entries);
  const progress = (what: string): void => {
    if (!args.json) process.stderr.write(`[${((performance.now() - wallStart) / 1000).toFixed(1)}s wall] ${what}\n`);
  };
  progress(`built ${args.nodes} converged nodes (${bytesPerMemberEntry} B per member entry)`);
  // With K, every node carries K instances from the start, and a converged replica of every other's
  // (shared between the simulated nodes until one changes): N x N x K replica entries.
  const k = args['instances-per-node'];
  let bytesPerReplicaEntry: number | null = null;
  if (k > 0) {
    world.seedConvergedState((name) => seedEntries(name, k));
    bytesPerReplicaEntry = Math.round(((heapUsed() - heapAfter) / (args.nodes * args.nodes * k)) * 1000) / 1000;
    progress(`seeded ${k} instances on every node (${bytesPerReplicaEntry} B per replica entry)`);
  }

  const pick = (exclude: Set<string>): string => {
    for (;;) {
      const n = names[world.random.int(names.length)] as string;
      if (!exclude.has(n)) return n;
    }
  };
  const crashed = pick(new Set());
  const leaver = pick(new Set([crashed]));
  const joiner = world.addNode();

  const tWarm = 3 * probeMs;
  const tJoin = tWarm + 2000;
  const tCrash = tJoin + 1000;
  const tLeave = tCrash + 1000;
  const tEnd = args.seconds * 1000;

  const joinSeen = new Map<string, number>();
  const deadSeen = new Map<string, number>();
  const leftSeen = new Map<string, number>();
  world.onEvent((node: string, event: MembershipEvent, time: number) => {
    if (event.type === 'member-join' && event.member.name === joiner) {
      if (!joinSeen.has(node)) joinSeen.set(node, time);
    } else if (event.type === 'member-dead' && event.member.name === crashed) {
      if (!deadSeen.has(node)) deadSeen.set(node, time);
    } else if (event.type === 'member-leave' && event.member.name === leaver) {
      if (!leftSeen.has(node)) leftSeen.set(node, time);
    }
  });

  let trafficAtWarm = world.totalTraffic();
  world.at(tWarm, () => {
    trafficAtWarm = world.totalTraffic();
  });
  world.at(tJoin, () => world.join(joiner, [pick(new Set([crashed, leaver]))]));
  world.at(tCrash, () => world.crash(crashed));
  world.at(tLeave, () => world.leave(leaver));

  for (let t = 5000; t < tEnd; t += 5000) {
    world.runUntil(t);
    progress(`t=${t / 1000}s sim, ${world.stats.events} events, join seen by ${joinSeen.size}, dead seen by ${deadSeen.size}, left seen by ${leftSeen.size}`);
  }
  world.runUntil(tEnd);

  // Observers: every node live at the end other than the subject.
  const observers = (subject: string): string[] => world.liveNames().filter((n) => n !== subject && n !== leaver && n !== joiner);
  const joinTimes = observers(joiner)
    .map((n) => joinSeen.get(n))
    .filter((t): t is number => t !== undefined)
    .map((t) => t - tJoin)
    .sort((a, b) => a - b);
  const joinObservers = observers(joiner).length;
  const joinComplete = joinTimes.length === joinObservers;
  const deadTimes = observers(crashed)
    .map((n) => deadSeen.get(n))
    .filter((t): t is number => t !== undefined)
    .map((t) => t - tCrash)
    .sort((a, b) => a - b);
  const deadComplete = deadTimes.length === observers(crashed).length;
  const leaveObservers = world.liveNames().filter((n) => n !== leaver && n !== crashed);
  const leaveTimes = leaveObservers
    .map((n) => leftSeen.get(n))
    .filter((t): t is number => t !== undefined)
    .map((t) => t - tLeave)
    .sort((a, b) => a - b);
  const leaveComplete = leaveTimes.length === leaveObservers.length;

  const total = world.totalTraffic();
  const windowS = (tEnd - tWarm) / 1000;
  const sentPackets =
    total.sent.datagram.packets + total.sent.stream.packets - trafficAtWarm.sent.datagram.packets - trafficAtWarm.sent.stream.packets;
  const sentBytes = total.sent.datagram.bytes + total.sent.stream.bytes - trafficAtWarm.sent.datagram.bytes - trafficAtWarm.sent.stream.bytes;

  const result = {
    nodes: args.nodes,
    loss: args.loss,
    profile: args.profile,
    seed: args.seed,
    joinConvergenceMs: {
      p50: round(percentile(joinTimes, 50)),
      p99: round(percentile(joinTimes, 99)),
      max: joinComplete ? round(joinTimes[joinTimes.length - 1] ?? null) : null,
    },
    failureDetectionMs: {
      first: round(deadTimes[0] ?? null),
      all: deadComplete ? round(deadTimes[deadTimes.length - 1] ?? null) : null,
    },
    leaveMs: leaveComplete ? round(leaveTimes[leaveTimes.length - 1] ?? null) : null,
    falseDeadCount: world.stats.falseDeaths,
    msgsPerNodePerSec: Math.round((sentPackets / args.nodes / windowS) * 100) / 100,
    bytesPerNodePerSec: Math.round(sentBytes / args.nodes / windowS),
    bytesPerMemberEntry,
    simSeconds: args.seconds,
    wallMs: Math.round(performance.now() - wallStart),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    // Beyond the contract: what did not complete, and how many suspicions live nodes saw.
    incomplete: [
      ...(joinComplete ? [] : [`join seen by ${joinTimes.length}/${joinObservers}`]),
      ...(deadComplete ? [] : [`crash seen by ${deadTimes.length}/${observers(crashed).length}`]),
      ...(leaveComplete ? [] : [`leave seen by ${leaveTimes.length}/${leaveObservers.length}`]),
    ],
    suspicionsOfLiveNodes: world.stats.suspicionsOfLiveNodes,
    refutes: world.stats.refutes,
  };
  if (k > 0) progress(`state phase: ${k} instances per node`);
  const state = k > 0 ? statePhase(world, world.liveNames(), k, 500, 10_000, true) : null;
  Object.assign(result, {
    instancesPerNode: k,
    bytesPerReplicaEntry,
    stateBytesPerFlip: state?.stateBytesPerFlip ?? null,
    stateBytesPerFlipPerNodeReached: state?.stateBytesPerFlipPerNodeReached ?? null,
    stateDeltaBytesPerFlip: state?.stateDeltaBytesPerFlip ?? null,
    flipDeltaBytes: state?.flipDeltaBytes ?? null,
    registrationVisibleMs: state?.registrationVisibleMs ?? null,
    bigJoinVisibleMs: state?.bigJoinVisibleMs ?? null,
    stateWallMs: Math.round(performance.now() - wallStart) - result.wallMs,
    peakRssMbAfterState: Math.round(process.resourceUsage().maxRSS / 1024),
  });
  if (args.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  }
}

main();
