/**
 * Memory after a burst of hostile HTTP requests (issue 11.8): oversized bodies, refused Host
 * headers, long unknown paths, broken JSON, short blocking queries (with 8 KB headers) and header floods, 25,600 of
 * them over 64 keep-alive connections. The agent's resident memory must come back near where it
 * was (it used to grow from 90 to 270 MB and stay there); a real process, its RSS from /proc.
 */
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request } from 'node:http';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Agents, sleep } from './support.js';

const agents = new Agents();
afterEach(() => agents.killAll());
afterAll(() => agents.dispose());

const rssMiB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;

describe('memory after a hostile burst', () => {
  it('comes back near its baseline', async () => {
    const agent = await agents.start('mem', { dns: 'off' });
    const pid = agent.child.pid as number;
    const [host, portText] = [agent.http.slice(0, agent.http.lastIndexOf(':')), agent.http.slice(agent.http.lastIndexOf(':') + 1)];
    const port = Number(portText);
    const pool = new HttpAgent({ keepAlive: true, maxSockets: 64 });
    const send = (path: string, method = 'GET', headers: Record<string, string> = {}, body?: string): Promise<void> =>
      new Promise((resolve) => {
        const r = request({ host, port, path, method, headers, agent: pool }, (res) => {
          res.resume();
          res.on('end', resolve);
          res.on('error', () => resolve());
        });
        r.on('error', () => resolve());
        if (body !== undefined) r.write(body);
        r.end();
      });
    const big = 'x'.repeat(70_000);
    const pad = 'y'.repeat(8000);
    const manyHeaders = Object.fromEntries(Array.from({ length: 50 }, (_, j) => [`x-h${j}`, 'v'.repeat(100)]));
    const burst = async (): Promise<void> => {
      await Promise.all(
        Array.from({ length: 64 }, async (_, w) => {
          for (let i = 0; i < 400; i++) {
            switch ((w + i) % 6) {
              case 0: await send('/v1/services', 'PUT', { 'content-type': 'application/json' }, big); break;
              case 1: await send('/v1/members', 'GET', { host: '127.0.0.1:80@evil.example' }); break;
              case 2: await send(`/v1/nope/${'a'.repeat(4000)}`); break;
              case 3: await send('/v1/services', 'PUT', { 'content-type': 'application/json' }, '{"id":'); break;
              case 4: await send('/v1/services/nothing?index=1&wait=1ms', 'GET', { 'x-pad': pad }); break;
              default: await send('/v1/members', 'GET', manyHeaders);
            }
          }
        }),
      );
    };
    // A first, smaller round warms up what any serving process allocates once (JIT, pools).
    await burst();
    await sleep(3000);
    const baseline = rssMiB(pid);
    await burst();
    await burst();
    pool.destroy();
    // Bounded wait for the process to settle (idle GC), then the bound: 48 MiB over the baseline.
    let now = rssMiB(pid);
    for (let k = 0; k < 20 && now > baseline + 48; k++) {
      await sleep(500);
      now = rssMiB(pid);
    }
    expect(now, `RSS ${now.toFixed(1)} MiB after the bursts, ${baseline.toFixed(1)} MiB before`).toBeLessThanOrEqual(baseline + 48);
    expect(await agent.get('/v1/agent/self')).toMatchObject({ Hearsay: { name: 'mem' } }); // still serving
  }, 120_000);
});
