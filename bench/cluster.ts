/**
 * Local multi-process cluster benchmark: N real agent processes on 127.0.0.1.
 *
 *   npm run bench:cluster -- --nodes N [--profile lan] [--idle-seconds 30] --json
 *
 * Prints {nodes, profile, joinConvergenceMs, failureDetectionMs, leaveMs, rssMbPerAgent,
 * cpuPctPerAgentIdle, packetsPerAgentPerSec}, each the median over --runs runs (default 1): join convergence from the join requests until every
 * agent lists all N alive; failure detection from kill -9 until every other agent lists it dead;
 * leave from SIGTERM until every other lists it left; RSS the median over agents; CPU and packets
 * per agent over an idle window after convergence (median over agents). Wall milliseconds.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runScenario } from '../src/cluster/scenario.js';
import { cpuSeconds, getJson, rssMb, type LocalCluster } from '../src/cluster/local-cluster.js';

function fail(message: string): never {
  process.stderr.write(`bench:cluster: ${message}\nusage: npm run bench:cluster -- --nodes N [--profile lan|wan|local] [--idle-seconds S] [--json]\n`);
  process.exit(2);
}

const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] as number;
};

async function main(): Promise<void> {
  const parse = () => {
    try {
      return parseArgs({
        options: {
          nodes: { type: 'string', default: '10' },
          profile: { type: 'string', default: 'lan' },
          'idle-seconds': { type: 'string', default: '30' },
          runs: { type: 'string', default: '1' },
          json: { type: 'boolean', default: false },
        },
        strict: true,
      });
    } catch (err) {
      return fail((err as Error).message);
    }
  };
  const { values } = parse();
  const nodes = Number(values.nodes);
  const idleS = Number(values['idle-seconds']);
  if (!Number.isInteger(nodes) || nodes < 4 || nodes > 200) fail(`--nodes must be an integer in [4, 200] (got ${values.nodes})`);
  if (!['lan', 'wan', 'local'].includes(values.profile)) fail(`--profile must be lan, wan or local (got ${values.profile})`);
  if (!(idleS >= 1)) fail(`--idle-seconds must be at least 1 (got ${values['idle-seconds']})`);

  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) fail(`--runs must be a positive integer (got ${values.runs})`);
  const results: Record<string, number | null>[] = [];
  for (let r = 0; r < runs; r++) results.push(await once());
  const med = (key: string): number | null => {
    const xs = results.map((x) => x[key]).filter((v): v is number => typeof v === 'number');
    return xs.length < results.length ? null : median(xs);
  };
  const keys = ['joinConvergenceMs', 'failureDetectionMs', 'leaveMs', 'rssMbPerAgent', 'cpuPctPerAgentIdle', 'packetsPerAgentPerSec', 'pauseRecoveryMs'];
  const out: Record<string, unknown> = { nodes, profile: values.profile };
  for (const k of keys) out[k] = med(k);
  if (runs > 1) out.runs = results;

  async function once(): Promise<Record<string, number | null>> {
    let rss: number | null = null;
    let cpuPct: number | null = null;
    let packets: number | null = null;
    const packetsOut = async (http: string): Promise<number> => {
      const self = await getJson<{ Hearsay?: { counters?: Record<string, number> } }>(http, '/v1/agent/self');
      return self.Hearsay?.counters?.packetsOut ?? Number.NaN;
    };
    const idle = async (cluster: LocalCluster): Promise<void> => {
      const agents = cluster.responsive();
      const cpu0 = agents.map((a) => cpuSeconds(a.child.pid ?? -1));
      const pk0 = await Promise.all(agents.map((a) => packetsOut(a.http)));
      const t0 = performance.now();
      if (!values.json) process.stderr.write(`idle window: ${idleS} s\n`);
      await new Promise((r) => setTimeout(r, idleS * 1000));
      const wallS = (performance.now() - t0) / 1000;
      const cpu1 = agents.map((a) => cpuSeconds(a.child.pid ?? -1));
      const pk1 = await Promise.all(agents.map((a) => packetsOut(a.http)));
      cpuPct = median(agents.map((_, i) => (((cpu1[i] ?? 0) - (cpu0[i] ?? 0)) / wallS) * 100));
      packets = median(agents.map((_, i) => ((pk1[i] as number) - (pk0[i] as number)) / wallS));
      rss = median(agents.map((a) => rssMb(a.child.pid ?? -1)).filter((v): v is number => v !== null));
    };

    // Agents run from the build (npm run bench:cluster builds first): what a deployment runs.
    const entry = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
    if (!existsSync(entry)) fail(`no build at ${entry}: run npm run build first`);
    const result = await runScenario({
      entry,
      nodes,
      profile: values.profile,
      afterConverged: idle,
      progress: (line) => {
        if (!values.json && !line.startsWith('  ')) process.stderr.write(`${line}\n`);
      },
    });
    return {
      joinConvergenceMs: result.joinConvergenceMs,
      failureDetectionMs: result.failureDetectionMs,
      leaveMs: result.leaveMs,
      rssMbPerAgent: rss === null ? null : Math.round(rss * 10) / 10,
      cpuPctPerAgentIdle: cpuPct === null ? null : Math.round((cpuPct as number) * 100) / 100,
      packetsPerAgentPerSec: packets === null ? null : Math.round((packets as number) * 100) / 100,
      pauseRecoveryMs: result.pauseRecoveryMs,
      pauseDeclaredDeadBy: result.pauseDeclaredDeadBy,
    };
  }
  process.stdout.write(values.json ? `${JSON.stringify(out)}\n` : `${JSON.stringify(out, null, 2)}\n`);
}

await main();
