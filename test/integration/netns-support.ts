/**
 * What the network-namespace tests share: `ip` and `ip netns exec`, whether this machine can make
 * namespaces (tried, not guessed), the test's own namespaces left behind, and a fetcher process
 * inside a namespace for the agents' HTTP APIs (which listen on their namespace's loopback).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { HttpGet } from './support.js';

export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
}

export function inNs(ns: string, ...args: string[]): string {
  return ip('netns', 'exec', ns, 'ip', ...args);
}

export function errorText(err: unknown): string {
  const e = err as { stderr?: unknown; message?: unknown };
  const stderr = typeof e.stderr === 'string' ? e.stderr.trim() : '';
  return stderr !== '' ? stderr : String(e.message ?? err);
}

export function ourNamespaces(prefix: string): string[] {
  let out: string;
  try {
    out = ip('netns', 'list');
  } catch {
    return [];
  }
  return out
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}

/** Why this machine cannot run the test, or null if it can (it tries what the test needs). */
export function whyUnavailable(prefix: string): string | null {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root (run the tests as root, as CI does)';
  const probe = `${prefix}probe`;
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


/**
 * A small node process inside a namespace that fetches URLs for the test: the agents' HTTP APIs
 * listen on their namespace's own loopback, which the test process cannot reach.
 */
const FETCHER = `
const rl = require('node:readline').createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  const { id, url, method } = JSON.parse(line);
  try {
    const res = await fetch(url, { method: method ?? 'GET', signal: AbortSignal.timeout(3000) });
    process.stdout.write(JSON.stringify({ id, status: res.status, body: await res.text() }) + '\\n');
  } catch (err) {
    process.stdout.write(JSON.stringify({ id, error: String(err) }) + '\\n');
  }
});
rl.on('close', () => process.exit(0));
`;

export class Fetcher {
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

  get(hostPort: string, method = 'GET'): HttpGet {
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
        this.child.stdin?.write(`${JSON.stringify({ id, url: `http://${hostPort}${path}`, method })}\n`);
      });
  }

  close(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/**
 * Makes a bridge namespace `${prefix}br` and one namespace per node (`${prefix}NODE`), each with
 * `eth0` on a veth to the bridge and the address `ipOf(i)/24`, links at `mtu` when given; nothing
 * in the host's namespace. Returns the namespaces made (for `deleteNamespaces`), in order.
 */
export function makeBridgedNamespaces(prefix: string, nodes: readonly string[], ipOf: (i: number) => string, mtu?: number): string[] {
  const made: string[] = [];
  const bridge = `${prefix}br`;
  const mtuArgs = mtu === undefined ? [] : ['mtu', String(mtu)];
  ip('netns', 'add', bridge);
  made.push(bridge);
  inNs(bridge, 'link', 'set', 'lo', 'up');
  inNs(bridge, 'link', 'add', 'br0', ...mtuArgs, 'type', 'bridge', 'forward_delay', '0');
  inNs(bridge, 'link', 'set', 'br0', 'up');
  nodes.forEach((node, i) => {
    const ns = `${prefix}${node}`;
    ip('netns', 'add', ns);
    made.push(ns);
    // The pair is made in the bridge's namespace with its other end moved straight into the
    // node's: nothing is ever created in the host's namespace.
    inNs(bridge, 'link', 'add', `v-${node}`, ...mtuArgs, 'type', 'veth', 'peer', 'name', 'eth0', ...mtuArgs, 'netns', ns);
    inNs(bridge, 'link', 'set', `v-${node}`, 'master', 'br0');
    inNs(bridge, 'link', 'set', `v-${node}`, 'up');
    inNs(ns, 'link', 'set', 'lo', 'up');
    inNs(ns, 'addr', 'add', `${ipOf(i)}/24`, 'dev', 'eth0');
    inNs(ns, 'link', 'set', 'eth0', 'up');
  });
  return made;
}

/** Deletes the namespaces (last made first); returns what could not be deleted and what is left. */
export function deleteNamespaces(prefix: string, made: readonly string[]): { problems: string[]; left: string[] } {
  const problems: string[] = [];
  for (const ns of [...made].reverse()) {
    try {
      ip('netns', 'del', ns);
    } catch (err) {
      problems.push(`ip netns del ${ns}: ${errorText(err)}`);
    }
  }
  return { problems, left: ourNamespaces(prefix) };
}

/** Kills the agents, closes the fetchers and deletes the namespaces; what could not be deleted and what is left. */
export async function tearDown(
  agents: { killAll(): Promise<void>; dispose(): void },
  fetchers: readonly Fetcher[],
  prefix: string,
  made: readonly string[],
): Promise<{ problems: string[]; left: string[] }> {
  await agents.killAll();
  agents.dispose();
  for (const f of fetchers) f.close();
  return deleteNamespaces(prefix, made);
}
