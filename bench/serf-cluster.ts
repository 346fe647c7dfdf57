/**
 * The reference run: the same scenario as bench/cluster.ts on HashiCorp Serf (Debian's `serf`,
 * memberlist inside), N agents on 127.0.0.1 with the same profile, observed by polling
 * `serf members -format=json` on every agent.
 *
 *   npm run bench:serf -- --nodes N [--profile lan] --json
 *
 * Prints {impl: "serf", nodes, profile, joinConvergenceMs, failureDetectionMs, leaveMs}, each the
 * median over --runs runs (default 1). Needs the
 * `serf` binary (apt-get install serf); exits 2 with that advice when it is missing.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { freeLoopbackPort } from '../src/cluster/ports.js';

interface SerfAgent {
  readonly name: string;
  readonly bind: string;
  readonly rpc: string;
  readonly child: ChildProcess;
}

interface SerfMember {
  readonly name: string;
  readonly status: string;
}


function serf(args: readonly string[], timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('serf', args, { timeout: timeoutMs }, (err, stdout) => (err === null ? resolve(stdout) : reject(err)));
  });
}

async function members(a: SerfAgent): Promise<Map<string, string> | null> {
  try {
    const out = JSON.parse(await serf(['members', `-rpc-addr=${a.rpc}`, '-format=json'])) as { members: SerfMember[] };
    return new Map(out.members.map((m) => [m.name, m.status]));
  } catch {
    return null;
  }
}

/** How long each round of `serf members` calls took: the resolution of the timings. */
const pollRounds: number[] = [];

async function waitUntil(agents: SerfAgent[], done: (v: Map<string, string>) => boolean, timeoutMs: number): Promise<number | null> {
  const start = performance.now();
  while (performance.now() - start < timeoutMs) {
    const t0 = performance.now();
    const views = await Promise.all(agents.map(members));
    pollRounds.push(performance.now() - t0);
    if (views.every((v) => v !== null && done(v))) return Math.round(performance.now() - start);
    await new Promise((r) => setTimeout(r, 100));
  }
  return null;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string', default: '10' },
      profile: { type: 'string', default: 'lan' },
      runs: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
    },
  });
  const n = Number(values.nodes);
  try {
    await serf(['version']);
  } catch {
    process.stderr.write('bench:serf: the serf binary is not installed: apt-get install serf\n');
    process.exit(2);
  }
  const results: Record<string, number | null>[] = [];
  for (let r = 0; r < Number(values.runs); r++) results.push(await once());
  const med = (key: string): number | null => {
    const xs = results.map((x) => x[key]).filter((v): v is number => typeof v === 'number').sort((a, b) => a - b);
    return xs.length < results.length ? null : (xs[Math.floor((xs.length - 1) / 2)] as number);
  };
  const out: Record<string, unknown> = { impl: 'serf', nodes: n, profile: values.profile };
  for (const k of ['joinConvergenceMs', 'failureDetectionMs', 'leaveMs']) out[k] = med(k);
  if (results.length > 1) out.runs = results;
  // Beyond the contract: one poll round spawns `serf members` per agent, so each time above can be
  // late by up to one round (hearsay's bench polls HTTP every 100 ms).
  out.pollRoundMsMedian = Math.round([...pollRounds].sort((x, y) => x - y)[Math.floor(pollRounds.length / 2)] ?? 0);
  process.stdout.write(values.json ? `${JSON.stringify(out)}\n` : `${JSON.stringify(out, null, 2)}\n`);

  async function once(): Promise<Record<string, number | null>> {
    const agents: SerfAgent[] = [];
    const killAll = (): void => {
      for (const a of agents) {
        try {
          a.child.kill('SIGKILL');
        } catch {
          // gone
        }
      }
    };
    process.on('exit', killAll);
    try {
      for (let i = 1; i <= n; i++) {
        const bind = `127.0.0.1:${await freeLoopbackPort()}`;
        const rpc = `127.0.0.1:${await freeLoopbackPort()}`;
        const name = `node-${i}`;
        const child = spawn('serf', ['agent', `-node=${name}`, `-bind=${bind}`, `-rpc-addr=${rpc}`, `-profile=${values.profile}`, '-log-level=err'], { stdio: 'ignore' });
        agents.push({ name, bind, rpc, child });
      }
      // Wait until every agent answers RPC.
      if ((await waitUntil(agents, () => true, 30_000)) === null) throw new Error('serf agents did not start');
      const names = agents.map((a) => a.name);
      const first = agents[0] as SerfAgent;
      const joinStart = performance.now();
      await Promise.all(agents.slice(1).map((a) => serf(['join', `-rpc-addr=${a.rpc}`, first.bind], 30_000)));
      const joined = await waitUntil(agents, (v) => names.every((nm) => v.get(nm) === 'alive'), 120_000);
      const joinConvergenceMs = joined === null ? null : Math.round(performance.now() - joinStart);

      const victim = agents[Math.floor(n / 2)] as SerfAgent;
      const leaver = agents[(Math.floor(n / 2) + 2) % n] as SerfAgent;
      victim.child.kill('SIGKILL');
      const others = agents.filter((a) => a !== victim);
      const failureDetectionMs = await waitUntil(others, (v) => v.get(victim.name) === 'failed', 120_000);

      const leaveStart = performance.now();
      void serf(['leave', `-rpc-addr=${leaver.rpc}`], 30_000).catch(() => undefined);
      const rest = others.filter((a) => a !== leaver);
      const left = await waitUntil(rest, (v) => v.get(leaver.name) === 'left', 120_000);
      const leaveMs = left === null ? null : Math.round(performance.now() - leaveStart);

      return { joinConvergenceMs, failureDetectionMs, leaveMs };
    } finally {
      killAll();
    }

  }
}

await main();
