/**
 * The health checks (src/agent/checks.ts).
 *
 * CheckRunner's scheduling (first run at once, intervalMs after each run ends, no overlap, the
 * timeout, ttl deadlines, stop and restart) runs on vitest's fake setTimeout with a fake fetch
 * the test answers by hand, so nothing depends on how fast the machine is. runCheck's http, tcp
 * and command checks run for real against servers and processes on 127.0.0.1 that the tests
 * start; every wait on them is bounded, and no test asserts how long anything took.
 *
 * Status damping (successBeforePassing, failuresBeforeCritical) and deregisterCriticalAfter are
 * the registry's (registry/local.ts, tested in local.test.ts); here only how the runner's results
 * feed it: one report per run, unchanged results included.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CheckRunner, runCheck, type CheckReporter } from '../../src/agent/checks.js';
import { LocalRegistry, MAX_CHECK_OUTPUT, normalizeService, type CheckSpec, type CheckStatus } from '../../src/registry/local.js';
import { closedPort } from '../transport/support.js';
import { processGone, waitFor } from './support.js';

/** Captured before any test fakes the clock: the bound on waits for real I/O. */
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;

/** Rejects if `p` has not settled within `ms` of real time (a bound, not an assertion on speed). */
function within<T>(p: Promise<T>, ms = 10_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = realSetTimeout(() => reject(new Error(`not settled within ${ms} ms`)), ms);
    p.then(
      (v) => {
        realClearTimeout(t);
        resolve(v);
      },
      (err: unknown) => {
        realClearTimeout(t);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/** Lets pending promise chains and I/O callbacks run (setImmediate is never faked here). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}

/** A check spec as registration makes it, for the instance "svc" (so its id is service:svc). */
function spec(check: Record<string, unknown>): CheckSpec {
  const n = normalizeService({ id: 'svc', name: 'web', port: 1, checks: [check] }, () => 'svc');
  if (!n.ok) throw new Error(n.problems.join('\n'));
  return n.checks[0]!;
}

interface Report {
  readonly id: string;
  readonly status: CheckStatus;
  readonly output: string;
}

/** A reporter that records every report and lets a test await the n-th one (bounded). */
class Reports {
  readonly list: Report[] = [];
  private waiters: (() => void)[] = [];
  readonly report: CheckReporter = (id, status, output) => {
    this.list.push({ id, status, output });
    for (const w of this.waiters.splice(0)) w();
  };
  async count(n: number): Promise<Report[]> {
    const reached = (async () => {
      while (this.list.length < n) await new Promise<void>((r) => this.waiters.push(r));
    })();
    await within(reached);
    return this.list;
  }
}

const runners: CheckRunner[] = [];
function runner(report: CheckReporter, onError?: (err: unknown) => void): CheckRunner {
  const r = new CheckRunner(report, onError);
  runners.push(r);
  return r;
}

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'hearsay-checks-'));
  dirs.push(d);
  return d;
}

afterEach(() => {
  for (const r of runners.splice(0)) r.stopAll();
  vi.useRealTimers();
  vi.unstubAllGlobals();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// CheckRunner on a fake clock, with a fake fetch
// ---------------------------------------------------------------------------------------------

interface FetchCall {
  readonly url: string;
  readonly signal: AbortSignal;
  readonly headers: Record<string, string>;
  answer(status: number, body?: string): void;
}

/** Replaces the global fetch: each call waits until the test answers it, or its signal aborts. */
function fakeFetch(): FetchCall[] {
  const calls: FetchCall[] = [];
  vi.stubGlobal('fetch', (url: string, init: { signal: AbortSignal; headers: Record<string, string> }) => {
    return new Promise<Response>((resolve, reject) => {
      init.signal.addEventListener('abort', () => reject(new DOMException('This operation was aborted', 'AbortError')));
      calls.push({ url, signal: init.signal, headers: init.headers, answer: (status, body = '') => resolve(new Response(body, { status, statusText: STATUS_CODES[status] ?? '' })) });
    });
  });
  return calls;
}

const CHECK_URL = 'http://127.0.0.1:9/health';

describe('CheckRunner: when checks run', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });

  it('runs a check at once, then intervalMs after each run ends', async () => {
    const calls = fakeFetch();
    const reports = new Reports();
    const r = runner(reports.report);
    r.start(spec({ http: CHECK_URL, interval: '10s', timeout: '5s' }));
    expect(calls).toHaveLength(0); // on the next turn, not inside start()
    vi.advanceTimersByTime(0);
    expect(calls).toHaveLength(1);
    vi.advanceTimersByTime(3000); // this run takes 3 s
    calls[0]!.answer(200, 'ok');
    expect(await reports.count(1)).toEqual([{ id: 'service:svc', status: 'passing', output: `HTTP GET ${CHECK_URL}: 200 OK\nok` }]);
    vi.advanceTimersByTime(9999);
    expect(calls).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(calls).toHaveLength(2);
  });

  it('never starts a run while the previous one is still going', async () => {
    const calls = fakeFetch();
    const reports = new Reports();
    runner(reports.report).start(spec({ http: CHECK_URL, interval: '1s', timeout: '1m' }));
    vi.advanceTimersByTime(0);
    vi.advanceTimersByTime(50_000);
    expect(calls).toHaveLength(1);
    calls[0]!.answer(500, 'down');
    await reports.count(1);
    vi.advanceTimersByTime(999);
    expect(calls).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(calls).toHaveLength(2);
  });

  it('makes a run that outlasts its timeout critical, aborting it', async () => {
    const calls = fakeFetch();
    const reports = new Reports();
    runner(reports.report).start(spec({ http: CHECK_URL, interval: '10s', timeout: '2s' }));
    vi.advanceTimersByTime(0);
    vi.advanceTimersByTime(1999);
    await settle();
    expect(calls[0]!.signal.aborted).toBe(false);
    expect(reports.list).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(calls[0]!.signal.aborted).toBe(true);
    expect(await reports.count(1)).toEqual([{ id: 'service:svc', status: 'critical', output: `HTTP GET ${CHECK_URL}: no answer within 2000 ms` }]);
    vi.advanceTimersByTime(10_000);
    expect(calls).toHaveLength(2);
  });

  it('reports every run, unchanged results included', async () => {
    const calls = fakeFetch();
    const reports = new Reports();
    runner(reports.report).start(spec({ http: CHECK_URL, interval: '1s' }));
    for (let i = 0; i < 3; i++) {
      vi.advanceTimersByTime(i === 0 ? 0 : 1000);
      calls[i]!.answer(200);
      await reports.count(i + 1);
    }
    expect(reports.list.map((x) => x.status)).toEqual(['passing', 'passing', 'passing']);
  });

  it('sends the hearsay-check user agent', () => {
    const calls = fakeFetch();
    runner(() => undefined).start(spec({ http: CHECK_URL }));
    vi.advanceTimersByTime(0);
    expect(calls[0]?.url).toBe(CHECK_URL);
    expect(calls[0]?.headers['user-agent']).toBe('hearsay-check');
  });

  it('stop aborts a running check and never reports its result; no run follows', async () => {
    const calls = fakeFetch();
    const reports = new Reports();
    const r = runner(reports.report);
    const s = spec({ http: CHECK_URL, interval: '1s' });
    r.start(s);
    vi.advanceTimersByTime(0);
    r.stop(s.id);
    expect(calls[0]!.signal.aborted).toBe(true);
    await settle();
    vi.advanceTimersByTime(3_600_000);
    await settle();
    expect(reports.list).toEqual([]);
    expect(calls).toHaveLength(1);
    expect(r.size).toBe(0);
    r.stop(s.id); // stopping an unknown check is a no-op
  });

  it('start with the same spec keeps the check going; a changed spec restarts it', async () => {
    const calls = fakeFetch();
    const reports = new Reports();
    const r = runner(reports.report);
    const s = spec({ http: CHECK_URL, interval: '10s' });
    r.start(s);
    vi.advanceTimersByTime(0);
    r.start(spec({ http: CHECK_URL, interval: '10s' })); // an equal spec, another object
    vi.advanceTimersByTime(0);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.signal.aborted).toBe(false);
    r.start(spec({ http: CHECK_URL, interval: '20s' }));
    expect(calls[0]!.signal.aborted).toBe(true);
    vi.advanceTimersByTime(0);
    expect(calls).toHaveLength(2);
    calls[1]!.answer(200);
    await reports.count(1);
    await settle();
    expect(reports.list).toHaveLength(1); // the aborted run of the old spec reported nothing
    vi.advanceTimersByTime(19_999);
    expect(calls).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(calls).toHaveLength(3);
    expect(r.ids()).toEqual([s.id]);
  });

  it('lists its checks, and stopAll stops every one', () => {
    const calls = fakeFetch();
    const r = runner(() => undefined);
    const a = { ...spec({ http: CHECK_URL }), id: 'a' };
    const b = { ...spec({ ttl: '1s' }), id: 'b' };
    r.start(a);
    r.start(b);
    expect(r.size).toBe(2);
    expect(r.ids().sort()).toEqual(['a', 'b']);
    r.stopAll();
    expect(r.size).toBe(0);
    expect(r.ids()).toEqual([]);
    vi.advanceTimersByTime(60_000);
    expect(calls).toHaveLength(0);
  });

  it('hands what a reporter throws to onError and keeps the check running', async () => {
    const calls = fakeFetch();
    const errors: unknown[] = [];
    let reported = 0;
    const r = runner(() => {
      reported++;
      throw new Error('reporter broke');
    }, (err) => errors.push(err));
    r.start(spec({ http: CHECK_URL, interval: '1s' }));
    vi.advanceTimersByTime(0);
    calls[0]!.answer(200);
    for (let i = 0; i < 100 && reported === 0; i++) await settle();
    expect(errors).toEqual([new Error('reporter broke')]);
    vi.advanceTimersByTime(1000);
    expect(calls).toHaveLength(2);
  });

  it('a reporter that throws without an onError is ignored', async () => {
    const calls = fakeFetch();
    let reported = 0;
    const r = runner(() => {
      reported++;
      throw new Error('ignored');
    });
    r.start(spec({ http: CHECK_URL, interval: '1s' }));
    vi.advanceTimersByTime(0);
    calls[0]!.answer(200);
    for (let i = 0; i < 100 && reported === 0; i++) await settle();
    expect(reported).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(calls).toHaveLength(2);
  });
});

describe('CheckRunner: ttl checks', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });

  it('turns critical once its ttl passes without an update, saying so', () => {
    const reports = new Reports();
    runner(reports.report).start(spec({ ttl: '1s' }));
    vi.advanceTimersByTime(999);
    expect(reports.list).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(reports.list).toEqual([{ id: 'service:svc', status: 'critical', output: 'TTL expired: no update within 1000 ms' }]);
  });

  it('renewTtl restarts the deadline', () => {
    const reports = new Reports();
    const r = runner(reports.report);
    r.start(spec({ ttl: '1s' }));
    vi.advanceTimersByTime(900);
    r.renewTtl('service:svc');
    vi.advanceTimersByTime(999);
    expect(reports.list).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(reports.list).toHaveLength(1);
  });

  it('expires once, and again only after a renewal', () => {
    const reports = new Reports();
    const r = runner(reports.report);
    r.start(spec({ ttl: '1s' }));
    vi.advanceTimersByTime(10_000);
    expect(reports.list).toHaveLength(1);
    r.renewTtl('service:svc');
    vi.advanceTimersByTime(1000);
    expect(reports.list).toHaveLength(2);
  });

  it('runs nothing: no request, no process', () => {
    const calls = fakeFetch();
    runner(() => undefined).start(spec({ ttl: '1s' }));
    vi.advanceTimersByTime(5000);
    expect(calls).toHaveLength(0);
  });

  it('renewTtl ignores unknown checks and checks that are not ttl checks', async () => {
    const calls = fakeFetch();
    const reports = new Reports();
    const r = runner(reports.report);
    r.start(spec({ http: CHECK_URL, interval: '10s' }));
    r.renewTtl('nope');
    r.renewTtl('service:svc');
    vi.advanceTimersByTime(0);
    expect(calls).toHaveLength(1);
    calls[0]!.answer(200);
    await reports.count(1);
    vi.advanceTimersByTime(10_000);
    expect(calls).toHaveLength(2); // its schedule was left alone
  });

  it('stop cancels the deadline', () => {
    const reports = new Reports();
    const r = runner(reports.report);
    r.start(spec({ ttl: '1s' }));
    r.stop('service:svc');
    vi.advanceTimersByTime(10_000);
    expect(reports.list).toEqual([]);
  });
});

describe('CheckRunner results through the registry', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });

  /** A registry holding one instance with `check`, fed by a runner; returns both and the fetch calls. */
  function wired(check: Record<string, unknown>): { reg: LocalRegistry; calls: FetchCall[]; reports: Reports; status: () => string | undefined } {
    const calls = fakeFetch();
    const reg = new LocalRegistry();
    const service = reg.register({ id: 'svc', name: 'web', port: 1, checks: [check] }, () => 'svc', 0, () => undefined);
    const reports = new Reports();
    const r = runner((id, status, output) => {
      reg.reportCheck(id, status, output, 0);
      reports.report(id, status, output);
    });
    for (const s of service.checks) r.start(s);
    return { reg, calls, reports, status: () => reg.service('svc')?.record.status };
  }

  it('successBeforePassing: the instance passes after that many passing runs in a row', async () => {
    const w = wired({ http: CHECK_URL, interval: '1s', successBeforePassing: 3 });
    const seen: (string | undefined)[] = [];
    for (let i = 0; i < 3; i++) {
      vi.advanceTimersByTime(i === 0 ? 0 : 1000);
      w.calls[i]!.answer(200);
      await w.reports.count(i + 1);
      seen.push(w.status());
    }
    expect(seen).toEqual(['critical', 'critical', 'passing']);
  });

  it('failuresBeforeCritical: a passing instance turns critical after that many failing runs in a row', async () => {
    const w = wired({ http: CHECK_URL, interval: '1s', status: 'passing', failuresBeforeCritical: 2 });
    const seen: (string | undefined)[] = [];
    const answers = [500, 200, 500, 500];
    for (let i = 0; i < answers.length; i++) {
      vi.advanceTimersByTime(i === 0 ? 0 : 1000);
      w.calls[i]!.answer(answers[i]!);
      await w.reports.count(i + 1);
      seen.push(w.status());
    }
    expect(seen).toEqual(['passing', 'passing', 'passing', 'critical']);
  });
});

// ---------------------------------------------------------------------------------------------
// runCheck for real, on 127.0.0.1
// ---------------------------------------------------------------------------------------------

const servers: (Server | TcpServer)[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((r) => {
          if ('closeAllConnections' in s) s.closeAllConnections();
          s.close(() => r());
        }),
    ),
  );
});

async function httpServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}/health`;
}

const run = (s: CheckSpec, signal: AbortSignal = new AbortController().signal): Promise<{ status: CheckStatus; output: string }> => within(runCheck(s, signal));

describe('runCheck: http', () => {
  it.each([
    [200, 'OK', 'passing'],
    [202, 'Accepted', 'passing'],
    [429, 'Too Many Requests', 'warning'],
    [300, 'Multiple Choices', 'critical'],
    [404, 'Not Found', 'critical'],
    [500, 'Internal Server Error', 'critical'],
    [503, 'Service Unavailable', 'critical'],
  ] as const)('answers %i %s as %s, with the status line and the body in the output', async (code, text, status) => {
    const url = await httpServer((_req, res) => {
      res.statusCode = code;
      res.end(' body text \n');
    });
    expect(await run(spec({ http: url }))).toEqual({ status, output: `HTTP GET ${url}: ${code} ${text}\nbody text` });
  });

  it('leaves the body out when there is none', async () => {
    const url = await httpServer((_req, res) => {
      res.statusCode = 204;
      res.end();
    });
    expect(await run(spec({ http: url }))).toEqual({ status: 'passing', output: `HTTP GET ${url}: 204 No Content` });
  });

  it('sends the hearsay-check user agent', async () => {
    let agent: string | undefined;
    const url = await httpServer((req, res) => {
      agent = req.headers['user-agent'];
      res.end();
    });
    await run(spec({ http: url }));
    expect(agent).toBe('hearsay-check');
  });

  it(`keeps at most ${MAX_CHECK_OUTPUT} characters of a large body`, async () => {
    const url = await httpServer((_req, res) => res.end('x'.repeat(100_000)));
    expect(await run(spec({ http: url }))).toEqual({ status: 'passing', output: `HTTP GET ${url}: 200 OK\n${'x'.repeat(MAX_CHECK_OUTPUT)}` });
  });

  it('stops reading a body that never ends once it has enough, and is done', async () => {
    const url = await httpServer((req, res) => {
      const chunk = 'z'.repeat(8192);
      let open = true;
      req.socket.once('close', () => (open = false));
      const pump = (): void => {
        while (open && res.write(chunk));
      };
      res.on('drain', pump);
      pump();
    });
    expect(await run(spec({ http: url }))).toEqual({ status: 'passing', output: `HTTP GET ${url}: 200 OK\n${'z'.repeat(MAX_CHECK_OUTPUT)}` });
  });

  it('is critical, naming the error code, when nothing listens', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/health`;
    expect(await run(spec({ http: url }))).toEqual({ status: 'critical', output: `HTTP GET ${url}: ECONNREFUSED` });
  });

  it('is critical once aborted while the server has not answered, and closes the connection', async () => {
    let arrived: (socket: Socket) => void = () => undefined;
    const request = new Promise<Socket>((r) => (arrived = r));
    const url = await httpServer((req) => arrived(req.socket)); // never answers
    const ac = new AbortController();
    const result = run(spec({ http: url, timeout: '3s' }), ac.signal);
    const socket = await within(request);
    let closed = false;
    socket.once('close', () => (closed = true));
    ac.abort();
    expect(await result).toEqual({ status: 'critical', output: `HTTP GET ${url}: no answer within 3000 ms` });
    await waitFor('the server saw the connection close', () => closed);
  });

  it('is critical once aborted while the body is still coming', async () => {
    let sent: () => void = () => undefined;
    const headersSent = new Promise<void>((r) => (sent = r));
    const url = await httpServer((_req, res) => {
      res.writeHead(200);
      res.write('partial', () => sent()); // and never ends
    });
    const ac = new AbortController();
    const result = run(spec({ http: url, timeout: '3s' }), ac.signal);
    await within(headersSent);
    ac.abort();
    expect(await result).toEqual({ status: 'critical', output: `HTTP GET ${url}: no answer within 3000 ms` });
  });
});

describe('runCheck: tcp', () => {
  async function tcpServer(): Promise<{ port: number; sockets: Socket[] }> {
    const sockets: Socket[] = [];
    const s = createTcpServer((socket) => sockets.push(socket));
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    return { port: (s.address() as AddressInfo).port, sockets };
  }

  it('is passing once connected, and closes its connection', async () => {
    const { port, sockets } = await tcpServer();
    expect(await run(spec({ tcp: `127.0.0.1:${port}` }))).toEqual({ status: 'passing', output: `TCP 127.0.0.1:${port}: connected` });
    await waitFor('the server accepted the connection', () => sockets.length === 1);
    await waitFor('the check closed it', () => sockets[0]!.destroyed || sockets[0]!.readableEnded);
  });

  it('is critical, naming the error code, when nothing listens', async () => {
    const port = await closedPort();
    expect(await run(spec({ tcp: `127.0.0.1:${port}` }))).toEqual({ status: 'critical', output: `TCP 127.0.0.1:${port}: ECONNREFUSED` });
  });

  it('is critical once aborted before connecting', async () => {
    const { port } = await tcpServer();
    const ac = new AbortController();
    const result = run(spec({ tcp: `127.0.0.1:${port}`, timeout: '4s' }), ac.signal);
    ac.abort(); // the connect has not completed: it is asynchronous
    expect(await result).toEqual({ status: 'critical', output: `TCP 127.0.0.1:${port}: no connection within 4000 ms` });
  });

  it.each(['localhost', '::1:80', '[::1'])('is critical for %j, which is not HOST:PORT', async (target) => {
    expect(await run({ ...spec({ tcp: '127.0.0.1:1' }), target })).toEqual({ status: 'critical', output: expect.stringMatching(new RegExp(`^TCP ${target.replace(/[[\]]/g, '\\$&')}: not HOST:PORT \\(it .+\\)$`)) });
  });

  it.each(['127.0.0.1:99999', '127.0.0.1:http', '127.0.0.1:-1'])('resolves critical, and does not reject, for the port in %j', async (target) => {
    expect(await run({ ...spec({ tcp: '127.0.0.1:1' }), target })).toEqual({ status: 'critical', output: expect.stringMatching(new RegExp(`^TCP ${target.replace(/[[\]]/g, '\\$&')}: not HOST:PORT \\(it .+\\)$`)) });
  });
});

describe('runCheck: command', () => {
  it.each([
    ['echo fine; exit 0', 'passing', 'fine'],
    ['echo slow; exit 1', 'warning', 'slow'],
    ['echo broken; exit 2', 'critical', 'echo broken; exit 2: exit code 2\nbroken'],
    ['exit 255', 'critical', 'exit 255: exit code 255'],
    ['kill -TERM $$', 'critical', 'kill -TERM $$: killed by SIGTERM'],
  ] as const)('maps the exit of %j to %s', async (command, status, output) => {
    expect(await run(spec({ command }))).toEqual({ status, output });
  });

  it('is critical for a shell command that does not exist (exit code 127)', async () => {
    const r = await run(spec({ command: 'hearsay-no-such-command-xyz' }));
    expect(r.status).toBe('critical');
    expect(r.output).toMatch(/^hearsay-no-such-command-xyz: exit code 127\n.*not found/s);
  });

  it('runs an argv command without a shell: its arguments are not interpreted', async () => {
    const argv = [process.execPath, '-e', 'console.log(process.argv[1]); process.exit(3)', 'a b; echo $HOME'];
    expect(await run(spec({ command: argv }))).toEqual({ status: 'critical', output: `${argv.join(' ')}: exit code 3\na b; echo $HOME` });
  });

  it('takes stdout and stderr into the output', async () => {
    const r = await run(spec({ command: 'echo to-out; echo to-err >&2' }));
    expect(r.status).toBe('passing');
    expect(r.output.split('\n').sort()).toEqual(['to-err', 'to-out']);
  });

  it(`keeps at most ${MAX_CHECK_OUTPUT} characters of output`, async () => {
    const r = await run(spec({ command: [process.execPath, '-e', 'process.stdout.write("y".repeat(200000))'] }));
    expect(r).toEqual({ status: 'passing', output: 'y'.repeat(MAX_CHECK_OUTPUT) });
  });

  it('is critical, naming the error, when the program cannot be started', async () => {
    expect(await run(spec({ command: ['/nonexistent/hearsay-check'] }))).toEqual({ status: 'critical', output: '/nonexistent/hearsay-check: ENOENT' });
  });

  it('resolves critical, and does not reject, for a command the OS refuses (a NUL byte)', async () => {
    const r = await run({ ...spec({ command: 'true' }), target: ['exit 0\u0000'] });
    expect(r.status).toBe('critical');
    expect(r.output).toContain('ERR_INVALID_ARG_VALUE');
  });

  it('once aborted, kills the command and what it started (its process group) and is critical', async () => {
    const dir = tempDir();
    const ac = new AbortController();
    const command = `sleep 30 & echo $! > ${dir}/child; echo $$ > ${dir}/shell; wait`;
    const result = run(spec({ command, timeout: '7s' }), ac.signal);
    const pidIn = (name: string): number => {
      try {
        return Number(readFileSync(join(dir, name), 'utf8').trim()) || 0;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
        throw err;
      }
    };
    await waitFor('the command started its child', () => pidIn('child') > 0 && pidIn('shell') > 0);
    const [child, shell] = [pidIn('child'), pidIn('shell')];
    ac.abort();
    expect(await result).toEqual({ status: 'critical', output: `${command}: killed after 7000 ms` });
    await waitFor('the shell and its child are gone', () => processGone(child) && processGone(shell));
  });

  it('is passing for a command that exits 0 leaving a child that holds its output open, and kills that child', async () => {
    const dir = tempDir();
    const r = await run(spec({ command: `sleep 300 & echo $! > ${dir}/child; exit 0` }));
    expect(r.status).toBe('passing');
    const child = Number(readFileSync(join(dir, 'child'), 'utf8').trim());
    expect(child).toBeGreaterThan(0);
    await waitFor('the child is gone', () => processGone(child));
  });

  it('a ttl spec does not run', async () => {
    expect(await run(spec({ ttl: '1s' }))).toEqual({ status: 'critical', output: 'a ttl check does not run' });
  });
});

describe('CheckRunner with real commands', () => {
  it('kills a command that outlasts its timeout and reports it critical', async () => {
    const reports = new Reports();
    runner(reports.report).start(spec({ command: 'exec sleep 30', timeout: '200ms', interval: '1h' }));
    expect(await reports.count(1)).toEqual([{ id: 'service:svc', status: 'critical', output: 'exec sleep 30: killed after 200 ms' }]);
  });

  it('stop kills a running command’s process group and reports nothing', async () => {
    const dir = tempDir();
    const reports = new Reports();
    const r = runner(reports.report);
    r.start(spec({ command: `sleep 30 & echo $! > ${dir}/child; exec sleep 30`, timeout: '1m', interval: '1h' }));
    const childPid = (): number => {
      try {
        return Number(readFileSync(join(dir, 'child'), 'utf8').trim()) || 0;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
        throw err;
      }
    };
    await waitFor('the command started its child', () => childPid() > 0);
    const child = childPid();
    r.stop('service:svc');
    await waitFor('the child is gone', () => processGone(child));
    await settle();
    expect(reports.list).toEqual([]);
  });
});
