/**
 * Agents on separate "hosts": three network namespaces the test creates, each with its own
 * address on a veth pair to a bridge that lives in a fourth namespace, so the host's own network
 * is never touched and the test subnet exists only inside these namespaces (no routes into them).
 * A partition is made by taking one namespace's link down until both sides have declared the
 * other dead; once the link is back, the views heal through the reconnect timer and push-pull.
 *
 * It needs root and `ip netns` (as on CI here); elsewhere it is skipped with the reason printed.
 * Every namespace it made is deleted in afterAll (which also deletes their veths and the bridge),
 * and `ip netns list` is checked for leftovers.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROFILES } from '../../src/membership/options.js';
import { Agents, lists, names, waitUntil, type AgentProcess, type HttpGet } from './support.js';

const PREFIX = `hs-${process.pid}-`;
const NODES = ['a', 'b', 'c'] as const;
const BRIDGE_NS = `${PREFIX}br`;
const nsOf = (node: string): string => `${PREFIX}${node}`;
/** A private /24 used only inside the test's namespaces. */
const SUBNET = `10.213.${10 + (process.pid % 240)}`;
const ipOf = (i: number): string => `${SUBNET}.${11 + i}`;
const GOSSIP_PORT = 7946;

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
}

function inNs(ns: string, ...args: string[]): string {
  return ip('netns', 'exec', ns, 'ip', ...args);
}

function errorText(err: unknown): string {
  const e = err as { stderr?: unknown; message?: unknown };
  const stderr = typeof e.stderr === 'string' ? e.stderr.trim() : '';
  return stderr !== '' ? stderr : String(e.message ?? err);
}

function ourNamespaces(): string[] {
  let out: string;
  try {
    out = ip('netns', 'list');
  } catch {
    return [];
  }
  return out
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(PREFIX));
}

/** Why this machine cannot run the test, or null if it can (it tries what the test needs). */
function whyUnavailable(): string | null {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root (run the tests as root, as CI does)';
  const probe = `${PREFIX}probe`;
  try {
    ip('netns', 'add', probe);
  } catch (err) {
    return `\`ip netns add\` failed: ${errorText(err)}`;
  }
  try {
    inNs(probe, 'link', 'add', 'hsbr', 'type', 'bridge');
    inNs(probe, 'link', 'add', 'hsv0', 'type', 'veth', 'peer', 'name', 'hsv1');
    return null;
  } catch (err) {
    return `cannot create a bridge and a veth pair in a namespace: ${errorText(err)}`;
  } finally {
    try {
      ip('netns', 'del', probe);
    } catch {
      // reported by the leftover check in afterAll
    }
  }
}

const unavailable = whyUnavailable();
if (unavailable !== null) console.warn(`skipping the network-namespace test: ${unavailable}`);

/**
 * A small node process inside a namespace that fetches URLs for the test: the agents' HTTP APIs
 * listen on their namespace's own loopback, which the test process cannot reach.
 */
const FETCHER = `
const rl = require('node:readline').createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  const { id, url } = JSON.parse(line);
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    process.stdout.write(JSON.stringify({ id, status: res.status, body: await res.text() }) + '\\n');
  } catch (err) {
    process.stdout.write(JSON.stringify({ id, error: String(err) }) + '\\n');
  }
});
rl.on('close', () => process.exit(0));
`;

class Fetcher {
  readonly child: ChildProcess;
  private seq = 0;
  private readonly pending = new Map<number, (answer: { status?: number; body?: string; error?: string }) => void>();

  constructor(ns: string) {
    this.child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', FETCHER], { stdio: ['pipe', 'pipe', 'ignore'] });
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const answer = JSON.parse(line) as { id: number; status?: number; body?: string; error?: string };
      this.pending.get(answer.id)?.(answer);
      this.pending.delete(answer.id);
    });
    this.child.stdin?.on('error', () => undefined);
  }

  get(hostPort: string): HttpGet {
    return (path) =>
      new Promise((resolve, reject) => {
        const id = ++this.seq;
        const timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new Error(`no answer from the fetcher for ${path} within 5000 ms`));
        }, 5000);
        this.pending.set(id, (answer) => {
          clearTimeout(timer);
          if (answer.error !== undefined) reject(new Error(answer.error));
          else if ((answer.status ?? 500) >= 400) reject(new Error(`HTTP ${answer.status}: ${answer.body}`));
          else resolve(JSON.parse(answer.body ?? 'null') as unknown);
        });
        this.child.stdin?.write(`${JSON.stringify({ id, url: `http://${hostPort}${path}` })}\n`);
      });
  }

  close(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

describe.skipIf(unavailable !== null)(`agents in network namespaces${unavailable === null ? '' : ` (skipped: ${unavailable})`}`, () => {
  const agents = new Agents();
  const fetchers: Fetcher[] = [];
  const made: string[] = [];

  beforeAll(() => {
    ip('netns', 'add', BRIDGE_NS);
    made.push(BRIDGE_NS);
    inNs(BRIDGE_NS, 'link', 'set', 'lo', 'up');
    inNs(BRIDGE_NS, 'link', 'add', 'br0', 'type', 'bridge', 'forward_delay', '0');
    inNs(BRIDGE_NS, 'link', 'set', 'br0', 'up');
    NODES.forEach((node, i) => {
      const ns = nsOf(node);
      ip('netns', 'add', ns);
      made.push(ns);
      // The pair is made in the bridge's namespace with its other end moved straight into the
      // node's: nothing is ever created in the host's namespace.
      inNs(BRIDGE_NS, 'link', 'add', `v-${node}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      inNs(BRIDGE_NS, 'link', 'set', `v-${node}`, 'master', 'br0');
      inNs(BRIDGE_NS, 'link', 'set', `v-${node}`, 'up');
      inNs(ns, 'link', 'set', 'lo', 'up');
      inNs(ns, 'addr', 'add', `${ipOf(i)}/24`, 'dev', 'eth0');
      inNs(ns, 'link', 'set', 'eth0', 'up');
      fetchers.push(new Fetcher(ns));
    });
  }, 30_000);

  afterAll(async () => {
    await agents.killAll();
    agents.dispose();
    for (const f of fetchers) f.close();
    const problems: string[] = [];
    for (const ns of made.reverse()) {
      try {
        ip('netns', 'del', ns);
      } catch (err) {
        problems.push(`ip netns del ${ns}: ${errorText(err)}`);
      }
    }
    const left = ourNamespaces();
    expect(left, `namespaces left behind: ${left.join(', ')}; ${problems.join('; ')}`).toEqual([]);
  }, 30_000);

  it('three agents on their own addresses join, survive a partition of one, and heal once its link is back', { timeout: 120_000 }, async () => {
    const start = (i: number, join: readonly string[]): Promise<AgentProcess> => {
      const node = NODES[i] as string;
      const fetcher = fetchers[i] as Fetcher;
      return agents.start(`ns-${node}`, {
        netns: nsOf(node),
        bind: `${ipOf(i)}:${GOSSIP_PORT}`,
        http: '127.0.0.1:0',
        join,
        get: (http) => fetcher.get(http),
      });
    };
    const a = await start(0, []);
    expect(a.gossip).toBe(`${ipOf(0)}:${GOSSIP_PORT}`);
    const [b, c] = await Promise.all([start(1, [a.gossip]), start(2, [a.gossip])]);
    const all = [a, b, c];
    const views = await waitUntil('every agent lists every agent alive', all, lists(names(all), 'alive'), { timeoutMs: 30_000 });
    for (const [i, agent] of all.entries()) {
      const row = views.get(a.name)?.get(agent.name);
      expect(`${row?.addr}:${row?.port}`).toBe(`${ipOf(i)}:${GOSSIP_PORT}`);
    }

    // Partition: ns-a's link goes down; both sides must give the other up for dead.
    inNs(nsOf('a'), 'link', 'set', 'eth0', 'down');
    await Promise.all([
      waitUntil('ns-b and ns-c list ns-a dead', [b, c], lists([a.name], 'dead'), { timeoutMs: 45_000 }),
      waitUntil('ns-a lists ns-b and ns-c dead', [a], lists([b.name, c.name], 'dead'), { timeoutMs: 45_000 }),
    ]);
    await waitUntil('ns-b and ns-c still list each other alive', [b, c], lists([b.name, c.name], 'alive'), { timeoutMs: 5000 });

    // Heal: the reconnect timer retries dead members every reconnectIntervalMs and a push-pull
    // merges the views; allow several reconnect rounds plus a push-pull interval, with margin
    // for a loaded machine.
    inNs(nsOf('a'), 'link', 'set', 'eth0', 'up');
    const local = PROFILES.local;
    const healBoundMs = 5 * local.reconnectIntervalMs + local.pushPullIntervalMs + 10_000;
    await waitUntil('every agent lists every agent alive again', all, lists(names(all), 'alive'), { timeoutMs: healBoundMs });
  });
});
