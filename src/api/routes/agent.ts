/**
 * The agent routes of the API:
 *
 *   GET  /v1/members     array of {name, addr, port, status, incarnation, tags}; ?detailed adds statusSince
 *   (GET /v1/agent/self is Consul's shape, consul-agent.ts, with hearsaySelf() below as its "Hearsay" object)
 *   POST /v1/join        body {"addrs": ["HOST:PORT", ...]} → {joined: n}
 *   POST /v1/leave       optional body {"timeoutMs": n} → {left: true, name}; then `onLeave` runs
 *   GET  /metrics        Prometheus text format 0.0.4 (the metrics catalog, agent/counters.ts)
 */
import { HearsayError } from '../../errors.js';
import type { MemberView } from '../../membership/types.js';
import { formatHostPort } from '../../transport/address.js';
import { parseSeed } from '../../agent/seeds.js';
import type { AgentNode, AgentServices, MemberInfo } from '../../agent/types.js';
import { HEALTH_STATUSES, type HealthStatus } from '../../registry/types.js';
import type { ApiContext } from '../context.js';
import { API_ERROR_CODES, ApiError, toApiError } from '../errors.js';
import { VERSION } from '../../version.js';
import { identitySummary } from '../../identity/identity.js';
import { encodeJson, objectBody, sendEncodedJson } from '../http-io.js';
import { METRICS_CONTENT_TYPE, renderMetrics, type Sample } from '../prometheus.js';
import type { Route } from '../router.js';

const MAX_JOIN_ADDRS = 256;
const MAX_LEAVE_TIMEOUT_MS = 600_000;
const JOIN_EXAMPLE = '{"addrs": ["10.0.0.2:7946"]}';

/** The member as the API shows it. */
export function memberInfoFromView(view: MemberView): MemberInfo {
  return { name: view.name, addr: view.host, port: view.port, status: view.status, incarnation: view.incarnation, tags: { ...view.state.tags } };
}

/** hearsay_service_instances: every service name in the view, with its instances on live nodes by status (zeros too). */
export function serviceInstanceSamples(agent: Pick<AgentServices, 'services' | 'lookup'>): Sample[] {
  const out: Sample[] = [];
  for (const { name } of agent.services()) {
    const by: Record<HealthStatus, number> = { passing: 0, warning: 0, critical: 0, maintenance: 0 };
    for (const i of agent.lookup(name, { status: 'any' })) by[i.status]++;
    for (const status of HEALTH_STATUSES) out.push({ labels: { service: name, status }, value: by[status] });
  }
  return out;
}

/** This agent as hearsay describes it: {name, version, addr, port, incarnation, tags, status, profile, state, bind, identity (with a certificate), counters}. */
export function hearsaySelf(agent: AgentNode, profile: string | undefined): Record<string, unknown> {
  const view = agent.memberViews().find((v) => v.name === agent.name);
  return {
    name: agent.name,
    version: VERSION,
    addr: agent.address.host,
    port: agent.address.port,
    incarnation: agent.incarnation,
    tags: { ...(view?.state.tags ?? {}) },
    status: view?.status ?? 'alive',
    ...(profile === undefined ? {} : { profile }),
    state: agent.state,
    bind: formatHostPort(agent.bindAddress),
    ...(agent.identity === undefined ? {} : { identity: identitySummary(agent.identity, Date.now()) }),
    counters: { ...agent.counters() },
  };
}

export function agentRoutes(agent: AgentNode & Pick<AgentServices, 'services' | 'lookup'>, ctx: ApiContext): Route[] {
  const { log, options } = ctx;
  // GET /v1/members as last encoded, and the membersVersion() it was made at: a program watching
  // the mesh asks often (a poll of every agent ten times a second), and the list seldom changes.
  let members: { readonly version: number; readonly body: Buffer } | undefined;

  return [
    {
      method: 'GET',
      path: '/v1/members',
      handler: ({ json, query, res }) => {
        if (!query.has('detailed')) {
          const version = agent.membersVersion();
          if (members?.version !== version) members = { version, body: encodeJson(agent.members()) };
          sendEncodedJson(res, 200, members.body);
          return;
        }
        // ?detailed: tombstones too, and since when each member has its status (wall clock).
        const offset = Date.now() - performance.now();
        json(200, agent.memberViews().map((v) => ({ ...memberInfoFromView(v), statusSince: new Date(Math.round(offset + v.changedAt)).toISOString() })));
      },
    },
    {
      method: 'POST',
      path: '/v1/join',
      handler: async ({ body, json }) => {
        const { addrs } = objectBody(await body(true, JOIN_EXAMPLE), ['addrs'], JOIN_EXAMPLE);
        if (!Array.isArray(addrs) || addrs.length === 0 || !addrs.every((a) => typeof a === 'string')) {
          throw new ApiError(400, API_ERROR_CODES.invalidRequest, `"addrs" must be a non-empty array of "HOST:PORT" strings: send ${JOIN_EXAMPLE}`);
        }
        if (addrs.length > MAX_JOIN_ADDRS) throw new ApiError(400, API_ERROR_CODES.invalidRequest, `"addrs" has ${addrs.length} entries: give at most ${MAX_JOIN_ADDRS}`);
        const problems: string[] = [];
        for (const a of addrs as string[]) {
          const parsed = parseSeed(a);
          if (!parsed.ok) problems.push(`"${a}" ${parsed.problem}`);
        }
        if (problems.length > 0) throw new ApiError(400, API_ERROR_CODES.invalidRequest, `bad address in "addrs": ${problems.join('; ')}`);
        const seeds = addrs as string[];
        try {
          const joined = await agent.join(seeds);
          // The answer first: the caller need not wait for the log line.
          json(200, { joined });
          log?.info({ seeds: seeds, joined }, 'joined through the HTTP API');
        } catch (err) {
          log?.warn({ err, seeds: seeds }, 'join through the HTTP API failed');
          if (err instanceof HearsayError) throw toApiError(err);
          throw new ApiError(502, 'HEARSAY_ERR_JOIN_FAILED', `join failed: ${(err as Error).message ?? String(err)}; check that the seeds run hearsay agents and are reachable`);
        }
      },
    },
    {
      method: 'POST',
      path: '/v1/leave',
      handler: async ({ body, json, res }) => {
        const raw = await body(false, '{"timeoutMs": 5000}');
        let timeoutMs: number | undefined;
        if (raw !== undefined) {
          const t = objectBody(raw, ['timeoutMs'], '{"timeoutMs": 5000}').timeoutMs;
          if (t !== undefined) {
            if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > MAX_LEAVE_TIMEOUT_MS) {
              throw new ApiError(400, API_ERROR_CODES.invalidRequest, `"timeoutMs" must be an integer number of milliseconds in 0-${MAX_LEAVE_TIMEOUT_MS}, e.g. 5000`);
            }
            timeoutMs = t;
          }
        }
        try {
          await ctx.leave(timeoutMs);
        } catch (err) {
          log?.error({ err }, 'leave through the HTTP API failed');
          const code = err instanceof HearsayError ? err.code : API_ERROR_CODES.leaveFailed;
          throw new ApiError(500, code, `leave failed: ${(err as Error).message ?? String(err)}`);
        }
        log?.info('left the cluster through the HTTP API');
        res.once('finish', () => options.onLeave?.());
        json(200, { left: true, name: agent.name });
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      handler: async ({ res }) => {
        const runtime = await ctx.runtime.collect();
        const dns = options.dnsMetrics;
        const info = { name: agent.name, ...(options.profile === undefined ? {} : { profile: options.profile }), version: VERSION };
        const text = renderMetrics({
          values: { ...agent.counters(), ...ctx.httpCounters(), ...options.extraCounters?.(), ...runtime.values },
          histograms: { ...agent.histograms(), ...(dns?.histograms() ?? {}), ...runtime.histograms },
          samples: {
            hearsay_info: [{ labels: info, value: 1 }],
            hearsay_dns_queries_total: dns?.queryCounts() ?? [],
            hearsay_service_instances: serviceInstanceSamples(agent),
            ...runtime.samples,
          },
          histogramSamples: { hearsay_http_request_duration_seconds: ctx.httpDurations() },
        });
        res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
        res.end(text);
      },
    },
  ];
}
