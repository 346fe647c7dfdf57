/**
 * A local multi-process cluster: N real `hearsay agent` processes on 127.0.0.1, each with its own
 * free ports, observed through their HTTP APIs. Used by `hearsay cluster` (the benchmarks beside
 * Serf have their own harness, bench/harness/).
 *
 * Every process it starts is tracked and killed on close(), on process exit and on SIGINT/SIGTERM,
 * so nothing outlives it. Observation polls GET /v1/members of every live agent; a view change is
 * timed to the poll interval.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { MemberStatus } from '../wire/messages.js';

export interface LocalAgent {
  readonly name: string;
  readonly gossip: string;
  readonly http: string;
  readonly child: ChildProcess;
  /** Exited or killed. */
  gone: boolean;
  /** Stopped with SIGSTOP and not yet continued. */
  stopped: boolean;
}

export interface LocalClusterOptions {
  readonly profile?: string;
  /** Extra flags for every agent. */
  readonly agentArgs?: readonly string[];
  /** Where agents' stderr (logs) goes: 'ignore' or a writable stream. @default 'ignore' */
  readonly logs?: 'ignore' | NodeJS.WritableStream;
  /** How long one agent may take to print its ready line, ms. @default 30000 */
  readonly startTimeoutMs?: number;
  /**
   * The script to run as `hearsay` (e.g. the built dist/src/cli/main.js, which starts faster and
   * uses less memory than the source through tsx). @default bin/hearsay.js
   */
  readonly entry?: string;
}

export interface MemberRow {
  readonly name: string;
  readonly status: MemberStatus;
  readonly incarnation: number;
}

const BIN = fileURLToPath(new URL('../../../bin/hearsay.js', import.meta.url));
const BIN_FROM_SRC = fileURLToPath(new URL('../../bin/hearsay.js', import.meta.url));
const READY = /^hearsay agent (\S+) listening on (\S+) \(http (\S+)\)/;

function binPath(): string {
  // From dist/src/cluster the bin is three levels up; from src/cluster (tsx) two.
  try {
    readFileSync(BIN);
    return BIN;
  } catch {
    return BIN_FROM_SRC;
  }
}

/** GET a JSON document from an agent, with a short timeout. */
export function getJson<T>(hostPort: string, path: string, timeoutMs = 2000): Promise<T> {
  const [host, port] = splitHostPort(hostPort);
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, method: 'GET', timeout: timeoutMs, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          if ((res.statusCode ?? 500) >= 400) throw new Error(`HTTP ${res.statusCode}`);
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as T);
        } catch (err) {
          reject(err as Error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

function splitHostPort(hostPort: string): [string, number] {
  const i = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, i).replace(/^\[|\]$/g, '');
  return [host, Number(hostPort.slice(i + 1))];
}

export class LocalCluster {
  readonly agents: LocalAgent[] = [];
  private readonly options: LocalClusterOptions;
  private closed = false;
  private readonly onExit = (): void => this.killAll();
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.killAll();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };

  constructor(options: LocalClusterOptions = {}) {
    this.options = options;
    process.on('exit', this.onExit);
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  /** Starts one agent (joining `join` if given) and resolves once it prints its ready line. */
  async start(name: string, join: readonly string[] = []): Promise<LocalAgent> {
    if (this.closed) throw new Error('the local cluster is closed');
    const args = [
      this.options.entry ?? binPath(),
      'agent',
      '--name',
      name,
      '--bind',
      '127.0.0.1:0',
      '--http',
      '127.0.0.1:0',
      '--dns',
      '127.0.0.1:0',
      '--profile',
      this.options.profile ?? 'lan',
      ...join.flatMap((j) => ['--join', j]),
      ...(this.options.agentArgs ?? []),
    ];
    const logs = this.options.logs ?? 'ignore';
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', logs === 'ignore' ? 'ignore' : 'pipe'] });
    if (logs !== 'ignore') child.stderr?.pipe(logs, { end: false });
    const agent = await new Promise<LocalAgent>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`agent ${name} printed no ready line within ${this.options.startTimeoutMs ?? 30_000} ms`));
      }, this.options.startTimeoutMs ?? 30_000);
      const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
      lines.on('line', (line) => {
        const m = READY.exec(line);
        if (m === null) return;
        clearTimeout(timer);
        resolve({ name: m[1] as string, gossip: m[2] as string, http: m[3] as string, child, gone: false, stopped: false });
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`agent ${name} exited before it was ready (code ${String(code)}, signal ${String(signal)})`));
      });
    });
    child.once('exit', () => {
      agent.gone = true;
    });
    this.agents.push(agent);
    return agent;
  }

  live(): LocalAgent[] {
    return this.agents.filter((a) => !a.gone);
  }

  /** Live agents that are not stopped: the ones that can answer. */
  responsive(): LocalAgent[] {
    return this.agents.filter((a) => !a.gone && !a.stopped);
  }

  /** Each responsive agent's view: name → status. Agents that do not answer map to null. */
  async views(except: readonly LocalAgent[] = []): Promise<Map<LocalAgent, Map<string, MemberRow> | null>> {
    const out = new Map<LocalAgent, Map<string, MemberRow> | null>();
    await Promise.all(
      this.responsive()
        .filter((a) => !except.includes(a))
        .map(async (a) => {
          try {
            const rows = await getJson<MemberRow[]>(a.http, '/v1/members');
            out.set(a, new Map(rows.map((r) => [r.name, r])));
          } catch {
            out.set(a, null);
          }
        }),
    );
    return out;
  }

  /**
   * Polls until `done` holds for every responsive agent other than `except` (or `timeoutMs`
   * passes). Returns the elapsed ms, or null on timeout. `onPoll` sees how many agents agree.
   */
  async waitUntil(
    done: (view: Map<string, MemberRow>) => boolean,
    opts: { timeoutMs: number; pollMs?: number; except?: readonly LocalAgent[]; onPoll?: (agreeing: number, of: number) => void },
  ): Promise<number | null> {
    const start = performance.now();
    const pollMs = opts.pollMs ?? 100;
    while (performance.now() - start < opts.timeoutMs) {
      const views = await this.views(opts.except ?? []);
      let agreeing = 0;
      for (const v of views.values()) if (v !== null && done(v)) agreeing++;
      opts.onPoll?.(agreeing, views.size);
      if (views.size > 0 && agreeing === views.size) return performance.now() - start;
      await new Promise((r) => setTimeout(r, pollMs));
    }
    return null;
  }

  kill(agent: LocalAgent, signal: NodeJS.Signals): void {
    if (agent.gone) return;
    agent.child.kill(signal);
    if (signal === 'SIGSTOP') agent.stopped = true;
    if (signal === 'SIGCONT') agent.stopped = false;
  }

  /** Resolves when the agent's process has exited (or at once if it has). */
  exited(agent: LocalAgent, timeoutMs = 15_000): Promise<boolean> {
    if (agent.gone) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      agent.child.once('exit', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Kills every process still running (SIGCONT first so stopped ones can die). Idempotent. */
  killAll(): void {
    for (const a of this.agents) {
      if (a.gone) continue;
      try {
        if (a.stopped) a.child.kill('SIGCONT');
        a.child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.killAll();
    await Promise.all(this.agents.map((a) => this.exited(a, 5000)));
    process.off('exit', this.onExit);
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}
