/**
 * Runs the health checks of this agent's instances: http, tcp and command checks on their
 * interval, ttl checks as a deadline the application must keep renewing. Results go to
 * `report(checkId, status, output)`; the registry (registry/local.ts) decides what they mean for
 * the instance. A run never overlaps the previous one of the same check, and every run has a
 * deadline (the check's timeout), after which it is critical and its process or socket is killed.
 */
import { connect } from 'node:net';
import type { CheckSpec, CheckStatus } from '../registry/local.js';
import { MAX_CHECK_OUTPUT, sameCheckSpec } from '../registry/local.js';
import { parseHostPort } from '../transport/address.js';

export type CheckReporter = (checkId: string, status: CheckStatus, output: string) => void;

interface Running {
  spec: CheckSpec;
  timer: NodeJS.Timeout | null;
  abort: AbortController | null;
  stopped: boolean;
}

export class CheckRunner {
  private readonly running = new Map<string, Running>();

  private readonly report: CheckReporter;

  /** `onError` gets what a report threw: a check result must never crash the agent. */
  constructor(report: CheckReporter, onError: (err: unknown) => void = () => {}) {
    this.report = (id, status, output) => {
      try {
        report(id, status, output);
      } catch (err) {
        onError(err);
      }
    };
  }

  /** Starts a check, or restarts it with a changed spec; a running check with the same spec goes on. */
  start(spec: CheckSpec): void {
    const current = this.running.get(spec.id);
    if (current !== undefined && sameCheckSpec(current.spec, spec)) return;
    this.stop(spec.id);
    const r: Running = { spec, timer: null, abort: null, stopped: false };
    this.running.set(spec.id, r);
    if (spec.kind === 'ttl') this.armTtl(r);
    else this.runSoon(r, 0);
  }

  /** A TTL check heard from its application: restart its deadline. */
  renewTtl(checkId: string): void {
    const r = this.running.get(checkId);
    if (r !== undefined && r.spec.kind === 'ttl') this.armTtl(r);
  }

  stop(checkId: string): void {
    const r = this.running.get(checkId);
    if (r === undefined) return;
    r.stopped = true;
    if (r.timer !== null) clearTimeout(r.timer);
    r.abort?.abort();
    this.running.delete(checkId);
  }

  stopAll(): void {
    for (const id of [...this.running.keys()]) this.stop(id);
  }

  get size(): number {
    return this.running.size;
  }

  ids(): string[] {
    return [...this.running.keys()];
  }

  private armTtl(r: Running): void {
    if (r.timer !== null) clearTimeout(r.timer);
    r.timer = setTimeout(() => {
      r.timer = null;
      if (!r.stopped) this.report(r.spec.id, 'critical', `TTL expired: no update within ${r.spec.ttlMs} ms`);
    }, r.spec.ttlMs);
    r.timer.unref();
  }

  private runSoon(r: Running, delayMs: number): void {
    r.timer = setTimeout(() => {
      r.timer = null;
      void this.runOnce(r);
    }, delayMs);
    r.timer.unref();
  }

  private async runOnce(r: Running): Promise<void> {
    if (r.stopped) return;
    const abort = new AbortController();
    r.abort = abort;
    const deadline = setTimeout(() => abort.abort(), r.spec.timeoutMs);
    deadline.unref();
    let result: { status: CheckStatus; output: string };
    try {
      result = await runCheck(r.spec, abort.signal);
    } catch (err) {
      result = { status: 'critical', output: `check failed: ${(err as Error).message ?? String(err)}` };
    } finally {
      clearTimeout(deadline);
      r.abort = null;
    }
    if (r.stopped) return;
    this.report(r.spec.id, result.status, result.output);
    if (!r.stopped) this.runSoon(r, r.spec.intervalMs);
  }
}

/** Runs one http, tcp or command check; resolves (never rejects) once it is done or aborted. */
export function runCheck(spec: CheckSpec, signal: AbortSignal): Promise<{ status: CheckStatus; output: string }> {
  switch (spec.kind) {
    case 'http':
      return httpCheck(spec.target as string, spec.timeoutMs, signal);
    case 'tcp':
      return tcpCheck(spec.target as string, spec.timeoutMs, signal);
    case 'command':
      return commandCheck(spec.target as readonly string[], spec.shell, spec.timeoutMs, signal);
    default:
      return Promise.resolve({ status: 'critical', output: `a ${spec.kind} check does not run` });
  }
}

async function httpCheck(url: string, timeoutMs: number, signal: AbortSignal): Promise<{ status: CheckStatus; output: string }> {
  try {
    const res = await fetch(url, { signal, headers: { 'user-agent': 'hearsay-check', accept: 'text/plain, application/json, */*' } });
    const body = await readSome(res, MAX_CHECK_OUTPUT);
    const line = `HTTP GET ${url}: ${res.status} ${res.statusText}${body === '' ? '' : `\n${body}`}`;
    if (res.status >= 200 && res.status < 300) return { status: 'passing', output: line };
    if (res.status === 429) return { status: 'warning', output: line };
    return { status: 'critical', output: line };
  } catch (err) {
    if (signal.aborted) return { status: 'critical', output: `HTTP GET ${url}: no answer within ${timeoutMs} ms` };
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { status: 'critical', output: `HTTP GET ${url}: ${cause?.code ?? cause?.message ?? (err as Error).message}` };
  }
}

async function readSome(res: Response, limit: number): Promise<string> {
  if (res.body === null) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8').trim();
}

function tcpCheck(target: string, timeoutMs: number, signal: AbortSignal): Promise<{ status: CheckStatus; output: string }> {
  return new Promise((resolve) => {
    const parsed = parseHostPort(target);
    if (!parsed.ok) {
      resolve({ status: 'critical', output: `TCP ${target}: not HOST:PORT (it ${parsed.problem})` });
      return;
    }
    const socket = connect({ host: parsed.address.host, port: parsed.address.port });
    let done = false;
    const finish = (status: CheckStatus, output: string): void => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve({ status, output });
    };
    const onAbort = (): void => finish('critical', `TCP ${target}: no connection within ${timeoutMs} ms`);
    signal.addEventListener('abort', onAbort);
    socket.once('connect', () => finish('passing', `TCP ${target}: connected`));
    socket.once('error', (err: NodeJS.ErrnoException) => finish('critical', `TCP ${target}: ${err.code ?? err.message}`));
  });
}

function commandCheck(argv: readonly string[], shell: boolean, timeoutMs: number, signal: AbortSignal): Promise<{ status: CheckStatus; output: string }> {
  return new Promise((resolve) => {
    const [file, ...args] = shell ? ['/bin/sh', '-c', argv[0]!] : argv;
    const shown = shell ? argv[0]! : argv.join(' ');
    let output = '';
    let done = false;
    // node:child_process with the first command check run, not at start (bench:light)
    const start = () => process.getBuiltinModule('node:child_process').spawn(file!, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: process.platform !== 'win32' });
    let child: ReturnType<typeof start>;
    try {
      child = start();
    } catch (err) {
      // An argument the OS cannot take (a NUL byte) throws here rather than emitting 'error'.
      const e = err as NodeJS.ErrnoException;
      resolve({ status: 'critical', output: `${shown}: ${e.code ?? e.message}`.slice(0, MAX_CHECK_OUTPUT) });
      return;
    }
    const take = (chunk: Buffer): void => {
      if (output.length < MAX_CHECK_OUTPUT) output += chunk.toString('utf8');
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const kill = (): void => {
      try {
        // The whole process group: a shell's children too.
        if (child.pid !== undefined && process.platform !== 'win32') process.kill(-child.pid, 'SIGKILL');
        else child.kill('SIGKILL');
      } catch {
        // The group is already gone.
      }
    };
    const finish = (status: CheckStatus, text: string): void => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      resolve({ status, output: text.slice(0, MAX_CHECK_OUTPUT).trim() });
    };
    const onAbort = (): void => {
      kill();
      finish('critical', `${shown}: killed after ${timeoutMs} ms\n${output}`);
    };
    signal.addEventListener('abort', onAbort);
    child.once('error', (err: NodeJS.ErrnoException) => finish('critical', `${shown}: ${err.code ?? err.message}`));
    // The status is the exit code of the command itself; output is read until its pipes close or
    // briefly after it exits (a background child may hold them), then whatever it left running in
    // its process group is killed, so checks never leak processes.
    child.once('exit', (code, sig) => {
      const settle = (): void => {
        clearTimeout(grace);
        kill();
        if (code === 0) finish('passing', output);
        else if (code === 1) finish('warning', output);
        else finish('critical', `${shown}: ${code === null ? `killed by ${sig ?? 'a signal'}` : `exit code ${code}`}\n${output}`);
      };
      const grace = setTimeout(settle, 200);
      grace.unref();
      child.once('close', settle);
    });
  });
}
