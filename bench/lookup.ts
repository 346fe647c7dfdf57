/**
 * Service lookup benchmark: how fast the registry answers, in process, over the HTTP API and over
 * DNS, and how fast a registration spreads through a simulated mesh.
 *
 *   npm run bench:lookup -- [--members 1000] [--instances 10000] [--names 1000] [--runs 5] [--loss 0] [--seed 1] [--instances-per-node K] --json
 *
 * Setup: `members` nodes each register instances/members instances (K with --instances-per-node,
 * which sets --instances to K × members), spread over `names` service names (so a lookup returns
 * instances/names instances). Each node's instances are its state entries, handed to the agent's
 * ServiceRuntime as the member event and the state update the agent would get, so the index is
 * built by the real feed (registry/state-feed.ts).
 *
 * With --instances-per-node K the state layer's phase (bench/state-phase.ts) also runs once on a
 * simulated mesh of `members` nodes: stateBytesPerFlip, and bigJoinVisibleMs (500 instances);
 * null without it.
 *
 * - in process: lookup(name) over random names; ops/s from a tight loop of 1,000,000 lookups;
 *   p50/p99 from individually timed calls (process.hrtime.bigint around each call, so they
 *   include the timer's own cost and are an upper bound);
 * - http: GET /v1/services/NAME from a keep-alive client in this process to createHttpServer on
 *   127.0.0.1 (client time included), p50/p99 of 2,000 requests after 200 warm-up ones;
 * - dns: SRV queries over UDP (EDNS0, 4096 bytes) to createDnsServer on 127.0.0.1, p50/p99 of
 *   2,000 queries after 200 warm-up ones;
 * - sim: `members` simulated nodes, converged, each running a ServiceIndex fed by its membership
 *   events; one node registers an instance (a new state, gossiped) and we measure the simulated
 *   time until every live node's lookup returns it. Five registrations on different nodes; p50 and max.
 *
 * Each figure is the median over --runs runs. Targets (issue 4): in-process p99 <= 5 us, HTTP
 * p99 <= 2 ms, DNS p99 <= 2 ms, registration visible on all 1,000 simulated nodes <= 3 s.
 */
import { createSocket } from 'node:dgram';
import { Agent as HttpAgent, request } from 'node:http';
import * as dnsPacket from 'dns-packet';
import { pino } from 'pino';
import { createHttpServer } from '../src/api/server.js';
import { ServiceRuntime } from '../src/agent/services.js';
import type { Agent } from '../src/agent/types.js';
import { createDnsServer } from '../src/dns/server.js';
import type { MemberView } from '../src/membership/types.js';
import { instanceChanges, instanceEntries } from '../src/registry/entries.js';
import { RegistryFeed } from '../src/registry/state-feed.js';
import type { StateEntry } from '../src/state/types.js';
import { ServiceIndex } from '../src/registry/service-index.js';
import type { LocalInstanceRecord } from '../src/registry/types.js';
import { createWorld } from '../src/sim/index.js';
import { SeededRandom } from '../src/util/random.js';
import { benchArgs, median, percentile, round } from './support.js';
import { seedEntries, statePhase } from './state-phase.js';

const USAGE = 'npm run bench:lookup -- [--members N] [--instances N] [--names N] [--runs N] [--loss FRACTION] [--seed S] [--instances-per-node K] [--json]';

type Args = ReturnType<typeof parse>;

function parse() {
  const a = benchArgs('bench:lookup', USAGE, {
    members: { type: 'int', default: 1000, min: 2 },
    instances: { type: 'int', default: 10_000, min: 2 },
    names: { type: 'int', default: 1000, min: 1 },
    runs: { type: 'int', default: 5, min: 1 },
    loss: { type: 'number', default: 0, min: 0, below: 1 },
    seed: { type: 'int', default: 1 },
    'instances-per-node': { type: 'int', default: 0, min: 0 },
    json: { type: 'boolean' },
  });
  const fail = (message: string): never => {
    process.stderr.write(`bench:lookup: ${message}\nusage: ${USAGE}\n`);
    process.exit(2);
  };
  const k = a['instances-per-node'];
  if (k > 1000) fail(`--instances-per-node must be at most 1000, the default maxInstancesPerNode (got ${k})`);
  if (k > 0) return { ...a, instances: k * a.members, names: Math.min(a.names, k * a.members) };
  if (a.instances < a.members) fail(`--instances must be >= --members (got ${a.instances})`);
  if (a.instances / a.members > 1000) fail(`--instances / --members must be at most 1000 (a node's maxInstancesPerNode)`);
  if (a.names > a.instances) fail(`--names must be at most --instances (got ${a.names})`);
  return a;
}

const pct = (sorted: readonly number[], p: number): number => percentile(sorted, p) as number;
const med = (xs: readonly number[]): number => median(xs) as number;
const serviceName = (k: number): string => `svc-${k}`;

/**
 * The member views of the mesh and each node's state entries: node m registers per-node instances
 * over consecutive names.
 */
function meshViews(a: Args): { views: MemberView[]; entries: StateEntry[][] } {
  const per = Math.round(a.instances / a.members);
  const views: MemberView[] = [];
  const entries: StateEntry[][] = [];
  let next = 0;
  for (let m = 0; m < a.members; m++) {
    const records: LocalInstanceRecord[] = [];
    for (let j = 0; j < per; j++) {
      const k = next++;
      records.push({ id: `i-${k}`, name: serviceName(k % a.names), address: '', port: 20_000 + (k % 40_000), tags: k % 2 === 0 ? ['v2'] : ['v1'], meta: { zone: `z${k % 3}` }, status: 'passing' });
    }
    views.push({
      name: `node-${m}`,
      host: `10.${(m >> 16) & 255}.${(m >> 8) & 255}.${m & 255}`,
      port: 7946,
      incarnation: 1,
      status: 'alive',
      state: { tags: {}, payload: null },
      changedAt: 0,
    });
    entries.push(instanceEntries(records));
  }
  return { views, entries };
}

function makeRuntime(a: Args): { runtime: ServiceRuntime; agentLike: Agent } {
  const runtime = new ServiceRuntime(
    {
      nodeName: 'bench-agent',
      advertiseHost: () => '127.0.0.1',
      checkEntries: () => {},
      publish: () => {},
      freshId: () => 'x',
      now: () => Math.round(performance.now()),
      random: new SeededRandom(a.seed),
      emit: () => {},
      log: pino({ level: 'silent' }),
    },
    1000,
  );
  const mesh = meshViews(a);
  mesh.views.forEach((member, m) => {
    runtime.onMembershipEvent({ type: 'member-join', member });
    runtime.onMembershipEvent({ type: 'state-update', node: member.name, changed: mesh.entries[m] as StateEntry[] });
  });
  // Only what the HTTP and DNS servers call on a lookup; anything else would throw.
  const agentLike = {
    name: 'bench-agent',
    address: { host: '127.0.0.1', port: 7946 },
    lookup: (name: string, o?: Parameters<Agent['lookup']>[1]) => runtime.lookup(name, o),
    serviceIndex: (name: string) => runtime.index.indexOf(name),
    services: () => runtime.services(),
    members: () => [],
    on: () => agentLike,
    off: () => agentLike,
  } as unknown as Agent;
  return { runtime, agentLike };
}

function inProcess(runtime: ServiceRuntime, a: Args): { opsPerSec: number; p50Ns: number; p99Ns: number } {
  const rnd = new SeededRandom(a.seed);
  const names = Array.from({ length: 4096 }, () => serviceName(rnd.int(a.names)));
  let sink = 0;
  for (let i = 0; i < 200_000; i++) sink += runtime.lookup(names[i & 4095]!).length; // warm-up
  const loops = 1_000_000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < loops; i++) sink += runtime.lookup(names[i & 4095]!).length;
  const elapsed = Number(process.hrtime.bigint() - t0);
  const samples = new Float64Array(100_000);
  for (let i = 0; i < samples.length; i++) {
    const s = process.hrtime.bigint();
    sink += runtime.lookup(names[i & 4095]!).length;
    samples[i] = Number(process.hrtime.bigint() - s);
  }
  if (sink === 0) throw new Error('lookups returned nothing: the index is empty');
  const sorted = [...samples].sort((x, y) => x - y);
  return { opsPerSec: Math.round(loops / (elapsed / 1e9)), p50Ns: pct(sorted, 50), p99Ns: pct(sorted, 99) };
}

async function overHttp(agentLike: Agent, a: Args): Promise<{ p50Ms: number; p99Ms: number }> {
  const server = createHttpServer(agentLike, {});
  const addr = await server.listen({ host: '127.0.0.1', port: 0 });
  const keepAlive = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  const rnd = new SeededRandom(a.seed + 1);
  const get = (path: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = request({ host: addr.host, port: addr.port, path, agent: keepAlive }, (res) => {
        let n = 0;
        res.on('data', (c: Buffer) => (n += c.length));
        res.on('end', () => (res.statusCode === 200 ? resolve(n) : reject(new Error(`HTTP ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end();
    });
  const times: number[] = [];
  for (let i = 0; i < 2200; i++) {
    const path = `/v1/services/${serviceName(rnd.int(a.names))}`;
    const t = performance.now();
    const bytes = await get(path);
    if (bytes < 3) throw new Error('empty HTTP answer');
    if (i >= 200) times.push(performance.now() - t);
  }
  keepAlive.destroy();
  await server.close();
  times.sort((x, y) => x - y);
  return { p50Ms: pct(times, 50), p99Ms: pct(times, 99) };
}

async function overDns(agentLike: Agent, a: Args): Promise<{ p50Ms: number; p99Ms: number; truncatedShare: number }> {
  const server = createDnsServer(agentLike, {});
  const addr = await server.listen({ host: '127.0.0.1', port: 0 });
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  const rnd = new SeededRandom(a.seed + 2);
  let waiting: ((m: Buffer) => void) | null = null;
  socket.on('message', (m) => waiting?.(m));
  const times: number[] = [];
  let truncated = 0;
  for (let i = 0; i < 2200; i++) {
    const q = dnsPacket.encode({
      type: 'query',
      id: i & 0xffff,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: 'SRV', name: `${serviceName(rnd.int(a.names))}.service.hearsay` }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096 } as unknown as dnsPacket.Answer],
    });
    const t = performance.now();
    const answer = await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no DNS answer within 2 s')), 2000);
      waiting = (m) => {
        clearTimeout(timer);
        resolve(m);
      };
      socket.send(q, addr.port, '127.0.0.1');
    });
    const elapsed = performance.now() - t;
    const decoded = dnsPacket.decode(answer);
    if ((decoded.answers ?? []).length === 0) throw new Error('empty DNS answer');
    // More instances than one UDP answer carries (64): truncated, as a resolver would see it (it retries over TCP).
    if (decoded.flag_tc) truncated++;
    if (i >= 200) times.push(elapsed);
  }
  socket.close();
  await server.close();
  times.sort((x, y) => x - y);
  return { p50Ms: pct(times, 50), p99Ms: pct(times, 99), truncatedShare: truncated / 2200 };
}

/** Simulated ms for a registration on one node to show in every live node's lookup. */
function inSim(a: Args, run: number): { p50: number; max: number } {
  const world = createWorld({ seed: a.seed + run, profile: 'lan', network: { link: { lossRate: a.loss, latency: { kind: 'uniform', minMs: 0.5, maxMs: 5 } } } });
  const names = world.buildConverged(a.members);
  const indexes = new Map(names.map((n) => [n, new ServiceIndex()]));
  const feeds = new Map(names.map((n) => [n, new RegistryFeed(indexes.get(n)!, n)]));
  world.onEvent((node, event) => feeds.get(node)?.onEvent(event));
  world.runFor(5000);
  const rnd = new SeededRandom(a.seed * 31 + run);
  const took: number[] = [];
  for (let r = 0; r < 5; r++) {
    const node = names[rnd.int(names.length)]!;
    const id = `reg-${r}`;
    const records: LocalInstanceRecord[] = [{ id, name: 'fresh', address: '', port: 9000 + r, tags: [], meta: {}, status: 'passing' }];
    const start = world.now;
    world.changeState(node, instanceChanges(new Map(), records));
    const everywhere = (): boolean => names.every((v) => v === node || indexes.get(v)!.lookup('fresh').some((i) => i.id === id));
    const at = world.runUntilTrue(everywhere, 60_000, 10);
    if (at === undefined) throw new Error(`registration ${id} on ${node} not visible everywhere within 60 s simulated`);
    took.push(at - start);
    world.runFor(2000);
  }
  took.sort((x, y) => x - y);
  return { p50: pct(took, 50), max: took[took.length - 1]! };
}

/** The state layer's phase on a simulated mesh of `members` nodes (only with --instances-per-node). */
function stateKeys(a: Args): Record<string, number | null> {
  const k = a['instances-per-node'];
  if (k === 0) return { instancesPerNode: null, stateBytesPerFlip: null, stateBytesPerFlipPerNodeReached: null, bigJoinVisibleMs: null };
  const world = createWorld({ seed: a.seed, profile: 'lan', network: { link: { lossRate: a.loss, latency: { kind: 'uniform', minMs: 0.5, maxMs: 5 } } } });
  const names = world.buildConverged(a.members);
  // K instances on every node, replicas shared between the simulated nodes until one changes.
  world.seedConvergedState((name) => seedEntries(name, k));
  world.runFor(5000);
  const s = statePhase(world, names, k, 500, 10_000, true);
  return { instancesPerNode: k, stateBytesPerFlip: s.stateBytesPerFlip, stateBytesPerFlipPerNodeReached: s.stateBytesPerFlipPerNodeReached, bigJoinVisibleMs: s.bigJoinVisibleMs };
}

async function main(): Promise<void> {
  const a = parse();
  const runs: Record<string, number>[] = [];
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let run = 0; run < a.runs; run++) {
    // A collection now, not in the middle of a timed phase (the previous run's simulation is garbage).
    gc?.();
    const { runtime, agentLike } = makeRuntime(a);
    if (runtime.index.size !== Math.round(a.instances / a.members) * a.members) throw new Error(`index holds ${runtime.index.size} instances`);
    gc?.();
    const ip = inProcess(runtime, a);
    gc?.();
    const http = await overHttp(agentLike, a);
    gc?.();
    const dns = await overDns(agentLike, a);
    const sim = inSim(a, run);
    runs.push({
      lookupOpsPerSec: ip.opsPerSec,
      lookupP50Ns: ip.p50Ns,
      lookupP99Ns: ip.p99Ns,
      httpP50Ms: http.p50Ms,
      httpP99Ms: http.p99Ms,
      dnsSrvP50Ms: dns.p50Ms,
      dnsSrvP99Ms: dns.p99Ms,
      dnsTruncatedShare: dns.truncatedShare,
      registrationVisibleP50Ms: sim.p50,
      registrationVisibleMaxMs: sim.max,
    });
    runtime.close();
    if (!a.json) process.stderr.write(`run ${run + 1}/${a.runs}: ${JSON.stringify(runs[runs.length - 1])}\n`);
  }
  const mid = (k: string): number => med(runs.map((r) => r[k]!));
  const out = {
    members: a.members,
    instances: Math.round(a.instances / a.members) * a.members,
    names: a.names,
    instancesPerLookup: Math.round(a.instances / a.names),
    loss: a.loss,
    seed: a.seed,
    runs: a.runs,
    lookupOpsPerSec: mid('lookupOpsPerSec'),
    lookupP50Ns: mid('lookupP50Ns'),
    lookupP99Ns: mid('lookupP99Ns'),
    httpP50Ms: round(mid('httpP50Ms'), 3),
    httpP99Ms: round(mid('httpP99Ms'), 3),
    dnsSrvP50Ms: round(mid('dnsSrvP50Ms'), 3),
    dnsSrvP99Ms: round(mid('dnsSrvP99Ms'), 3),
    dnsTruncatedShare: round(mid('dnsTruncatedShare'), 3),
    registrationVisibleMs: { p50: mid('registrationVisibleP50Ms'), max: mid('registrationVisibleMaxMs') },
    ...stateKeys(a),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:lookup: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
