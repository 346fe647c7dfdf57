/**
 * Real `hearsay agent` processes for the integration tests: started with `node bin/hearsay.js
 * agent ...` (optionally inside a network namespace), found through the ready line they print,
 * observed through their HTTP APIs, and all killed by `killAll()` (in afterEach/afterAll) and on
 * process exit, whatever happened in the test.
 *
 * Waiting is polling with a bound (`waitUntil`): no test measures or asserts a duration.
 * HEARSAY_IT_LOG_DIR=DIR (an existing directory) keeps each agent's full log there.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/hearsay.js', import.meta.url));
export const REPO = fileURLToPath(new URL('../../', import.meta.url));

const READY = /^hearsay agent (\S+) listening on (\S+) \(http (\S+)\)(?: \(dns (\S+)\))?/;
const LOG_LINES_KEPT = 40;

export type Status = 'alive' | 'suspect' | 'dead' | 'left';

export interface MemberRow {
  readonly name: string;
  readonly addr: string;
  readonly port: number;
  readonly status: Status;
  readonly incarnation: number;
  readonly tags: Record<string, string>;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** How to reach an agent's HTTP API: directly (127.0.0.1) or through a helper inside its netns. */
export type HttpGet = (path: string) => Promise<unknown>;

export interface AgentProcess {
  readonly name: string;
  /** Gossip address, HOST:PORT, as printed in the ready line. */
  readonly gossip: string;
  /** HTTP API address, HOST:PORT. */
  readonly http: string;
  /** DNS address, HOST:PORT ('' with --dns off). */
  readonly dns: string;
  readonly child: ChildProcess;
  /** Resolves when the process has exited. */
  readonly exit: Promise<Exit>;
  /** The last lines the agent logged on stderr, for failure messages. */
  readonly log: string[];
  get: HttpGet;
  stopped: boolean;
}

export interface StartOptions {
  readonly join?: readonly string[];
  readonly dataDir?: string;
  /** Gossip bind address. @default 127.0.0.1:0 */
  readonly bind?: string;
  /** @default 127.0.0.1:0 */
  readonly http?: string;
  /** DNS listen address or "off". @default 127.0.0.1:0 */
  readonly dns?: string;
  /** Run it inside this network namespace (`ip netns exec NS node ...`). */
  readonly netns?: string;
  /** Make HTTP requests to it some other way (from inside its namespace). */
  readonly get?: (http: string) => HttpGet;
  /** @default 30000 */
  readonly readyTimeoutMs?: number;
  /** More `hearsay agent` flags (e.g. --key, --label, --config FILE). */
  readonly args?: readonly string[];
}

/** GET a JSON document with fetch, with a timeout. */
export async function getJson(hostPort: string, path: string, timeoutMs = 3000): Promise<unknown> {
  const res = await fetch(`http://${hostPort}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${path} on ${hostPort}: HTTP ${res.status} ${text}`);
  return JSON.parse(text) as unknown;
}

/** The processes a test file started. */
export class Agents {
  private readonly all: AgentProcess[] = [];
  private readonly onExit = (): void => {
    for (const a of this.all) signal(a, 'SIGKILL');
  };

  constructor() {
    process.on('exit', this.onExit);
  }

  /** Starts `hearsay agent --name NAME --profile local ...` and resolves once it printed its ready line. */
  async start(name: string, options: StartOptions = {}): Promise<AgentProcess> {
    const agentArgs = [
      BIN,
      'agent',
      '--name',
      name,
      '--bind',
      options.bind ?? '127.0.0.1:0',
      '--http',
      options.http ?? '127.0.0.1:0',
      '--dns',
      options.dns ?? '127.0.0.1:0',
      '--profile',
      'local',
      '--log-level',
      'debug',
      ...(options.join ?? []).flatMap((j) => ['--join', j]),
      ...(options.dataDir === undefined ? [] : ['--data-dir', options.dataDir]),
      ...(options.args ?? []),
    ];
    const [cmd, args] =
      options.netns === undefined ? [process.execPath, agentArgs] : ['ip', ['netns', 'exec', options.netns, process.execPath, ...agentArgs]];
    const child = spawn(cmd, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    const exit = new Promise<Exit>((resolve) => child.once('exit', (code, sig) => resolve({ code, signal: sig })));
    const log: string[] = [];
    // HEARSAY_IT_LOG_DIR=DIR keeps every agent's whole log (DIR/NAME-PID.log) for a post-mortem.
    const logDir = process.env['HEARSAY_IT_LOG_DIR'];
    if (logDir !== undefined && logDir !== '') child.stderr?.pipe(createWriteStream(join(logDir, `${name}-${String(child.pid)}.log`)));
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => {
      // The tests' own polling of the API is noise here.
      if (line.includes('"msg":"http request"')) return;
      log.push(line.length > 400 ? `${line.slice(0, 400)}...` : line);
      if (log.length > LOG_LINES_KEPT) log.shift();
    });
    const timeoutMs = options.readyTimeoutMs ?? 30_000;
    const ready = await new Promise<{ gossip: string; http: string; dns: string } | Error>((resolve) => {
      const timer = setTimeout(() => resolve(new Error(`agent ${name} printed no ready line within ${timeoutMs} ms`)), timeoutMs);
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        const m = READY.exec(line);
        if (m === null || m[1] !== name) return;
        clearTimeout(timer);
        resolve({ gossip: m[2] as string, http: m[3] as string, dns: m[4] ?? '' });
      });
      void exit.then((e) => {
        clearTimeout(timer);
        resolve(new Error(`agent ${name} exited before it was ready (code ${String(e.code)}, signal ${String(e.signal)})`));
      });
    });
    const agent: AgentProcess = {
      name,
      gossip: ready instanceof Error ? '' : ready.gossip,
      http: ready instanceof Error ? '' : ready.http,
      dns: ready instanceof Error ? '' : ready.dns,
      child,
      exit,
      log,
      get: (path) => getJson(agent.http, path),
      stopped: false,
    };
    this.all.push(agent);
    if (ready instanceof Error) {
      signal(agent, 'SIGKILL');
      throw new Error(`${ready.message}\n${log.join('\n')}`);
    }
    if (options.get !== undefined) agent.get = options.get(agent.http);
    return agent;
  }

  /** SIGCONTs and SIGKILLs every process still running and waits (bounded) until they are gone. */
  async killAll(): Promise<void> {
    const list = this.all.splice(0);
    for (const a of list) signal(a, 'SIGKILL');
    await Promise.all(list.map((a) => Promise.race([a.exit, sleep(5000)])));
  }

  dispose(): void {
    process.off('exit', this.onExit);
  }
}

/** Sends a signal if the process still runs (a stopped process is continued before SIGKILL). */
export function signal(agent: AgentProcess, sig: NodeJS.Signals): void {
  if (agent.child.exitCode !== null || agent.child.signalCode !== null) return;
  try {
    if (sig === 'SIGKILL' && agent.stopped) agent.child.kill('SIGCONT');
    agent.child.kill(sig);
  } catch {
    // already gone
  }
  if (sig === 'SIGSTOP') agent.stopped = true;
  if (sig === 'SIGCONT') agent.stopped = false;
}

/** Kills with SIGKILL and waits until the process is gone. */
export async function kill9(agent: AgentProcess): Promise<void> {
  signal(agent, 'SIGKILL');
  await agent.exit;
}

/** How the process exited; throws (with its recent log) if it still runs after `timeoutMs`. */
export async function exitOf(agent: AgentProcess, timeoutMs = 20_000): Promise<Exit> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs)));
  const exit = await Promise.race([agent.exit, timeout]);
  clearTimeout(timer);
  if (exit === null) throw new Error(`${agent.name} still runs ${timeoutMs} ms later\n${agent.log.slice(-15).join('\n')}`);
  return exit;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** One agent's view (name → row), or null if it did not answer. */
export async function viewOf(agent: AgentProcess): Promise<Map<string, MemberRow> | null> {
  try {
    const rows = (await agent.get('/v1/members')) as MemberRow[];
    return new Map(rows.map((r) => [r.name, r]));
  } catch {
    return null;
  }
}

export type Views = Map<string, Map<string, MemberRow> | null>;

export async function viewsOf(agents: readonly AgentProcess[]): Promise<Views> {
  const entries = await Promise.all(agents.map(async (a) => [a.name, await viewOf(a)] as const));
  return new Map(entries);
}

/** Every view, one line each: `a: a alive@0, b dead@1 | b: ...`. */
export function describeViews(views: Views): string {
  return [...views]
    .map(([name, v]) =>
      v === null
        ? `${name}: (no answer)`
        : `${name}: ${[...v.values()]
            .sort((x, y) => (x.name < y.name ? -1 : 1))
            .map((r) => `${r.name} ${r.status}@${r.incarnation}`)
            .join(', ')}`,
    )
    .join(' | ');
}

/**
 * Polls the views of `observers` every `pollMs` until `done` holds for every one of them;
 * resolves with the last views. Throws after `timeoutMs` with every view and the observers'
 * recent logs in the message. Bounded: it always stops by itself.
 */
export async function waitUntil(
  what: string,
  observers: readonly AgentProcess[],
  done: (view: Map<string, MemberRow>, observer: AgentProcess) => boolean,
  { timeoutMs, pollMs = 250 }: { timeoutMs: number; pollMs?: number },
): Promise<Views> {
  const deadline = Date.now() + timeoutMs;
  let views: Views = new Map();
  for (;;) {
    views = await viewsOf(observers);
    if (observers.every((o) => { const v = views.get(o.name); return v !== null && v !== undefined && done(v, o); })) return views;
    if (Date.now() >= deadline) break;
    await sleep(pollMs);
  }
  const logs = observers.map((o) => `--- ${o.name} (last log lines)\n${o.log.slice(-15).join('\n')}`).join('\n');
  throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}\nviews: ${describeViews(views)}\n${logs}`);
}

/** `done` for waitUntil: the view lists every name in `names` with `status`. */
export function lists(names: readonly string[], status: Status | readonly Status[]): (view: Map<string, MemberRow>) => boolean {
  const ok = typeof status === 'string' ? [status] : status;
  return (view) => names.every((n) => {
    const s = view.get(n)?.status;
    return s !== undefined && ok.includes(s);
  });
}

export function names(agents: readonly AgentProcess[]): string[] {
  return agents.map((a) => a.name);
}

/** The incarnation `observer` lists `name` with (throws if it does not list it). */
export async function incarnationIn(observer: AgentProcess, name: string): Promise<number> {
  const row = (await viewOf(observer))?.get(name);
  if (row === undefined) throw new Error(`${observer.name} does not list ${name}`);
  return row.incarnation;
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node bin/hearsay.js ARGS...` to completion (bounded by `timeoutMs`). */
export function runCli(args: readonly string[], timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: REPO, timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export { closedPort } from '../transport/support.js';
