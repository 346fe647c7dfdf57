/**
 * What every Consul-compatible route shares: the query parameters Consul's clients send, the
 * headers they read, and blocking queries.
 *
 * Headers. Every answer (errors too: python-consul reads X-Consul-Index even from a 404) carries
 * `X-Consul-Index` (the watched set's index, never 0: Consul's npm client treats 0 as an error and
 * Go's api parses it as an integer), `X-Consul-KnownLeader: true` and `X-Consul-LastContact: 0`
 * (Go's api parses LastContact with strconv.ParseUint and fails the whole call if it is missing).
 * In a mesh without servers every agent answers from its own view, so there is always a "leader"
 * (this agent) and it was last in contact now.
 *
 * Parameters. `?dc=` is answered for the agent's datacenter and refused with 400 for another;
 * `?stale`, `?consistent`, `?cached` and `?near` are accepted and change nothing (every read is
 * this agent's eventually consistent view: all reads are "stale", and none is more consistent than
 * that); `?filter` (Consul's expression language) is refused with 400 rather than ignored;
 * `?ns`/`?partition` are accepted only as "default".
 *
 * Blocking. `?index=N&wait=D` waits while the set's index is still N (at most D, default 5m,
 * capped at 10m as Consul caps it, plus Consul's jitter of up to D/16 so that many watchers do not
 * wake together), then answers with the current data. An index that differs from N, greater or
 * smaller (an agent restarted), answers at once: clients then take the new index.
 *
 * Watched sets and their indexes. A set's index is a sum of monotonic counters, so it only grows
 * and changes whenever any part does: the registry's modify index of one name
 * (`agent.serviceIndex`) or of every name (`agent.servicesIndex`), and three counters kept here
 * from the agent's events: `members` (a member joined, changed status, address or tags, or went),
 * `nodeDetails` (a member's address or tags changed: what Node and NodeMeta show beside a service)
 * and `checks` (a local check's result).
 */
import { AGENT_DEFAULTS } from '../../agent/defaults.js';
import type { AgentEvent, AgentEvents, AgentServices } from '../../agent/types.js';
import type { MemberView } from '../../membership/types.js';
import { HearsayError } from '../../errors.js';
import { parseDuration } from '../../util/duration.js';
import { waitForIndex } from '../blocking.js';
import type { ApiContext } from '../context.js';
import { API_ERROR_CODES, ApiError, toApiError } from '../errors.js';
import type { Handler, RequestContext, Route } from '../router.js';

export const DEFAULT_DATACENTER = AGENT_DEFAULTS.datacenter;
/** Consul's default wait and its cap. */
export const CONSUL_DEFAULT_WAIT_MS = 5 * 60_000;
export const CONSUL_MAX_WAIT_MS = 10 * 60_000;

/**
 * The counters of the watched sets that the registry does not keep. They listen to the agent from
 * the first Consul request on (an index only has to change after a client has seen it) until the
 * server closes.
 */
export class ConsulIndexes {
  members = 1;
  nodeDetails = 1;
  checks = 1;
  private readonly known = new Map<string, { status: string; where: string }>();
  private readonly listener = (e: AgentEvent): void => this.apply(e);
  private listening = false;
  private stopped = false;

  constructor(private readonly agent: Pick<AgentEvents, 'on' | 'off'> & Pick<AgentServices, 'serviceIndex' | 'servicesIndex'>) {}

  /** Starts listening (idempotent); every Consul route calls it before it reads an index. */
  ensure(): void {
    if (this.listening || this.stopped) return;
    this.listening = true;
    this.agent.on('event', this.listener);
  }

  stop(): void {
    this.stopped = true;
    if (this.listening) this.agent.off('event', this.listener);
    this.listening = false;
  }

  private apply(e: AgentEvent): void {
    if (e.type === 'check-update' || e.type === 'instance-checks' || e.type === 'service-deregistered-critical') {
      this.checks++;
      return;
    }
    if (!('member' in e)) return;
    const m: MemberView = e.member;
    if (e.type === 'member-reap') {
      if (this.known.delete(m.name)) this.members++;
      return;
    }
    const where = `${m.host}|${m.port}|${JSON.stringify(m.state.tags)}`;
    const before = this.known.get(m.name);
    if (before !== undefined && before.status === m.status && before.where === where) return;
    this.members++;
    if (before !== undefined && before.where !== where) this.nodeDetails++;
    this.known.set(m.name, { status: m.status, where });
  }

  /** catalog/services, agent/services. */
  services(): number {
    return this.agent.servicesIndex() + this.nodeDetails;
  }

  /** catalog/service/:name, health/service/:name, health/checks/:name. */
  service(name: string): number {
    return this.agent.serviceIndex(name) + this.nodeDetails;
  }

  /** catalog/nodes, agent/members, agent/self, status. */
  nodes(): number {
    return this.members;
  }

  /** catalog/node/:node. */
  node(): number {
    return this.members + this.agent.servicesIndex();
  }

  /** health/state/:state, health/node/:node, agent/checks. */
  health(): number {
    return this.members + this.agent.servicesIndex() + this.checks;
  }
}

/** The headers of every Consul answer. */
export function consulHeaders(index: number): Record<string, string> {
  return { 'x-consul-index': String(Math.max(1, index)), 'x-consul-knownleader': 'true', 'x-consul-lastcontact': '0' };
}

/** Whether a Consul boolean query parameter is on: present without a value, or any value but false/0. */
export function flag(query: URLSearchParams, name: string): boolean {
  if (!query.has(name)) return false;
  const v = (query.get(name) ?? '').toLowerCase();
  return v !== 'false' && v !== '0';
}

/** `?node-meta=key:value` (repeatable): every pair must be in the node's meta (its tags). */
export function nodeMetaFilter(query: URLSearchParams): (tags: Readonly<Record<string, string>>) => boolean {
  const pairs = query.getAll('node-meta').map((raw) => {
    const i = raw.indexOf(':');
    if (i <= 0) throw new ApiError(400, API_ERROR_CODES.invalidRequest, `node-meta ${JSON.stringify(raw)} must be KEY:VALUE, e.g. node-meta=rack:r1`);
    return [raw.slice(0, i), raw.slice(i + 1)] as const;
  });
  if (pairs.length === 0) return () => true;
  return (tags) => pairs.every(([k, v]) => tags[k] === v);
}

/** Refuses what this agent cannot answer as asked: another datacenter, a filter expression, another namespace. */
export function checkQuery(query: URLSearchParams, datacenter: string): void {
  const dc = query.get('dc');
  if (dc !== null && dc !== '' && dc.toLowerCase() !== datacenter) {
    throw new ApiError(
      400,
      'HEARSAY_ERR_UNKNOWN_DATACENTER',
      `no path to datacenter ${JSON.stringify(dc)}: this mesh is datacenter ${JSON.stringify(datacenter)} and hearsay does not federate datacenters; ask an agent of that mesh, or leave out ?dc`,
    );
  }
  if (query.has('filter') && query.get('filter') !== '') {
    throw new ApiError(400, API_ERROR_CODES.invalidRequest, 'filter expressions are not supported: filter with ?tag= (repeatable) and ?node-meta=KEY:VALUE, or filter the answer yourself');
  }
  for (const name of ['ns', 'partition']) {
    const v = query.get(name);
    if (v !== null && v !== '' && v !== 'default') {
      throw new ApiError(400, API_ERROR_CODES.invalidRequest, `${name} ${JSON.stringify(v)}: hearsay has one namespace and one partition, "default"`);
    }
  }
}

/** The wait of a blocking query, in ms, with Consul's jitter (up to wait/16 more). */
export function blockingWaitMs(waitParam: string | null, random: () => number = Math.random): number {
  let wait = CONSUL_DEFAULT_WAIT_MS;
  if (waitParam !== null && waitParam !== '') {
    const ms = parseDuration(waitParam);
    if (ms === undefined) throw new ApiError(400, API_ERROR_CODES.invalidRequest, `wait ${JSON.stringify(waitParam)} is not a duration: give e.g. wait=30s or wait=5m (at most 10m)`);
    wait = Math.min(ms, CONSUL_MAX_WAIT_MS);
  }
  return wait + Math.floor(random() * (wait / 16));
}

/** The index a client saw (?index=N), or undefined for none (0 and absent do not block, as in Consul). */
export function seenIndex(query: URLSearchParams): number | undefined {
  const raw = query.get('index');
  if (raw === null || raw === '') return undefined;
  if (!/^\d{1,15}$/.test(raw)) throw new ApiError(400, API_ERROR_CODES.invalidRequest, `index ${JSON.stringify(raw)} must be the X-Consul-Index of an earlier answer (a non-negative integer)`);
  const n = Number(raw);
  return n === 0 ? undefined : n;
}

export interface ConsulRouteEnv {
  readonly agent: Pick<AgentEvents, 'on' | 'off'>;
  readonly ctx: ApiContext;
  readonly indexes: ConsulIndexes;
  readonly datacenter: string;
}

/**
 * A Consul read: checks the query, waits while the set's index is the one the client saw, then
 * answers `body()` with the Consul headers. Errors carry the headers too.
 */
export function consulRead(env: ConsulRouteEnv, index: (rc: RequestContext) => number, body: (rc: RequestContext, index: number) => unknown): Handler {
  return consulHandler(env, index, async (rc) => {
    checkQuery(rc.query, env.datacenter);
    const seen = seenIndex(rc.query);
    const waitMs = blockingWaitMs(rc.query.get('wait'));
    const current = (): number => index(rc);
    if (seen !== undefined && current() === seen) {
      await env.ctx.blocking.hold(() => waitForIndex(env.agent, current, seen, waitMs, rc.req, env.ctx.onClose), consulHeaders(current()));
      if (rc.res.destroyed) return;
    }
    const now = current();
    rc.json(200, body(rc, now), consulHeaders(now));
  });
}

/** A Consul write: checks the query, runs, answers 200 with an empty body (what Consul sends) or `run`'s JSON. */
export function consulWrite(env: ConsulRouteEnv, index: (rc: RequestContext) => number, run: (rc: RequestContext) => Promise<unknown> | unknown): Handler {
  return consulHandler(env, index, async (rc) => {
    checkQuery(rc.query, env.datacenter);
    const out = await run(rc);
    const headers = consulHeaders(index(rc));
    if (out === undefined) {
      rc.res.writeHead(200, { 'content-length': 0, 'cache-control': 'no-store', ...headers });
      rc.res.end();
    } else rc.json(200, out, headers);
  });
}

/** Runs `fn`; an error it throws leaves with the Consul headers added. */
function consulHandler(env: ConsulRouteEnv, index: (rc: RequestContext) => number, fn: Handler): Handler {
  return async (rc) => {
    env.indexes.ensure();
    try {
      await fn(rc);
    } catch (err) {
      if (!(err instanceof ApiError) && !(err instanceof HearsayError)) throw err; // a bug: the server logs it as it is
      const e = toApiError(err);
      let headers: Record<string, string>;
      try {
        headers = consulHeaders(index(rc));
      } catch {
        headers = consulHeaders(1);
      }
      throw new ApiError(e.status, e.code, e.message, { ...headers, ...e.headers });
    }
  };
}

/** Consul's routes are listed apart in a 404 (Router note). */
export function unlisted(routes: readonly Route[]): Route[] {
  return routes.map((r) => ({ ...r, listed: false }));
}
