import { createWriteStream, readFileSync } from 'node:fs';
import { LocalCluster } from '../src/cluster/local-cluster.js';
const N = Number(process.argv[2] ?? 30), kills = Number(process.argv[3] ?? 6), idle = Number(process.argv[4] ?? 0);
const logPath = `/tmp/zzreal-${process.pid}.log`;
const logs = createWriteStream(logPath);
const c = new LocalCluster({ profile: 'lan', entry: new URL('../dist/src/cli/main.js', import.meta.url).pathname, logs, agentArgs: ['--log-format', 'json'] });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function get(http: string, path: string): Promise<string> { const r = await fetch(`http://${http}${path}`); return r.text(); }
try {
  const first = await c.start('n0');
  const agents = [first];
  for (let i = 1; i < N; i++) { const a = await c.start(`n${i}`); agents.push(a); await fetch(`http://${a.http}/v1/join`, { method: 'POST', body: JSON.stringify({ addrs: [first.gossip] }), headers: { 'content-type': 'application/json' } }); }
  await c.waitUntil?.bind(c);
  await sleep(3000 + idle);
  const killAt: [string, number][] = [];
  for (let k = 0; k < kills; k++) {
    const scores: number[] = [];
    for (const a of c.responsive()) { const m = await get(a.http, '/metrics'); const s = /^hearsay_health_score (\S+)/m.exec(m); scores.push(Number(s?.[1])); }
    const victim = agents[1 + ((k * 7) % (N - 1))]!;
    if (victim.gone) continue;
    console.error('health scores before kill', k, scores.filter((x) => x > 0).length, 'nonzero, max', Math.max(...scores));
    victim.child.kill('SIGKILL'); killAt.push([victim.name, Date.now()]);
    await sleep(12000);
  }
  logs.end(); await sleep(200);
  const lines = readFileSync(logPath, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  for (const [v, t] of killAt) {
    const sus = lines.filter((j) => j.msg === 'member-suspect' && j.member === v).map((j) => Date.parse(j.time) - t).sort((a, b) => a - b);
    const dead = lines.filter((j) => j.msg === 'member-dead' && j.member === v).map((j) => Date.parse(j.time) - t).sort((a, b) => a - b);
    console.log(JSON.stringify({ victim: v, firstSuspectMs: sus[0], suspectViews: sus.length, firstDeadMs: dead[0], lastDeadMs: dead[dead.length - 1], deadViews: dead.length }));
  }
} finally { await c.close(); }
