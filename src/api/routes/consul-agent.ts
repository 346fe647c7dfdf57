/**
 * Consul's agent endpoints over this agent (shapes in consul-shapes.ts, headers and blocking in
 * consul-query.ts). Writes answer 200 with an empty body, as Consul does.
 *
 *   GET /v1/agent/self                        {Config, DebugConfig, Member, Stats, Meta, Hearsay}: every value an
 *                                             object, as Go's api decodes it (map[string]map[string]interface{});
 *                                             "Hearsay" is hearsay's own description of the agent (name, version, counters, ...)
 *   GET /v1/agent/members                     [AgentMember], tombstones included (Status 3 left, 4 failed); ?wan: none
 *   GET /v1/agent/services                    {ID: AgentService} of this agent's registrations
 *   GET /v1/agent/service/:id                 AgentService with ContentHash; 404 for an unknown id
 *   GET /v1/agent/checks                      {CheckID: AgentCheck} of this agent's checks (maintenance ones too)
 *   PUT /v1/agent/service/register            Consul's service definition (consul-registration.ts); durable, as PUT /v1/services
 *   PUT /v1/agent/service/deregister/:id
 *   PUT /v1/agent/check/pass|warn|fail/:id    ?note=TEXT: a TTL check's result
 *   PUT /v1/agent/check/update/:id            body {"Status": "passing|warning|critical", "Output": "..."}
 *   PUT /v1/agent/service/maintenance/:id     ?enable=true|false&reason=TEXT
 *   PUT /v1/agent/maintenance                 ?enable=true|false&reason=TEXT (the whole node)
 *   PUT /v1/agent/join/:address               join through a gossip address (HOST[:PORT], a name, dns+srv:NAME)
 *   PUT /v1/agent/leave                       leave gracefully (`hearsay agent` then exits 0)
 * (PUT /v1/agent/force-leave/:node, /v1/agent/reload and /v1/agent/monitor are operate.ts's.)
 */
import type * as Crypto from 'node:crypto';
import type { AgentNode, AgentServices } from '../../agent/types.js';
import { parseSeed } from '../../agent/seeds.js';
import { HearsayError } from '../../errors.js';
import type { CheckStatus, LocalService } from '../../registry/local.js';
import type { ServiceInstance } from '../../registry/types.js';
import { VERSION } from '../../version.js';
import type { ApiContext } from '../context.js';
import { agentCall, agentCallAsync, API_ERROR_CODES, ApiError, toApiError } from '../errors.js';
import type { RequestContext, Route } from '../router.js';
import { requireCheck, requireInstance } from '../access.js';
import { hearsaySelf } from './agent.js';
import { localDetail } from './consul-catalog.js';
import { consulRead, consulWrite, flag, type ConsulRouteEnv } from './consul-query.js';
import { fromConsulRegistration } from './consul-registration.js';
import { agentMember, agentService, nodeChecks, nodeId, serviceChecks, type ConsulHealthCheck } from './consul-shapes.js';
import { refuseCommandChecks } from './services.js';

/** node:crypto, loaded on first use: an agent that never needs it does not pay for it at start (bench:light). */
const crypto = (): typeof Crypto => process.getBuiltinModule('node:crypto');

/** The Consul API this agent answers as (Config.Version): the shapes and parameters of Consul 1.x's agent, catalog and health endpoints. */
export const CONSUL_COMPAT_VERSION = '1.20.0';

const TTL: Readonly<Record<string, CheckStatus>> = { pass: 'passing', warn: 'warning', fail: 'critical' };

export type ConsulAgentAgent = AgentNode & AgentServices;

/** A local registration as the instance the index holds (its address filled in). */
function localInstance(agent: Pick<AgentNode, 'name' | 'address'>, s: LocalService): ServiceInstance {
  return { ...s.record, node: agent.name, address: s.record.address === '' ? agent.address.host : s.record.address };
}

/** `?enable=` as Consul reads it: required, true or false. */
function enableOf(query: URLSearchParams): boolean {
  const v = query.get('enable');
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new ApiError(400, API_ERROR_CODES.invalidRequest, `${v === null ? 'enable is missing' : `enable ${JSON.stringify(v)} is not a boolean`}: give ?enable=true or ?enable=false (and ?reason=TEXT)`);
}

function reasonOf(query: URLSearchParams): string | undefined {
  const r = query.get('reason');
  if (r === null || r === '') return undefined;
  if (r.length > 256) throw new ApiError(400, API_ERROR_CODES.invalidRequest, 'reason must be at most 256 characters');
  return r;
}

export function consulAgentRoutes(agent: ConsulAgentAgent, env: ConsulRouteEnv, ctx: ApiContext): Route[] {
  const { indexes, datacenter: dc } = env;
  const index = (): number => indexes.health();
  const own = (): ServiceInstance[] => agent.localServices().map((s) => localInstance(agent, s));

  const agentChecks = (): Record<string, Omit<ConsulHealthCheck, 'CreateIndex' | 'ModifyIndex'>> => {
    const local = localDetail(agent);
    const me = agent.memberViews().find((v) => v.name === agent.name);
    const all = [...nodeChecks({ name: agent.name, status: me?.status ?? 'alive' }, local, 0).filter((c) => c.CheckID !== 'serfHealth'), ...own().flatMap((i) => serviceChecks(i, local, 0))];
    const out: Record<string, Omit<ConsulHealthCheck, 'CreateIndex' | 'ModifyIndex'>> = {};
    for (const { CreateIndex: _c, ModifyIndex: _m, ...c } of all) out[c.CheckID] = c;
    return out;
  };

  const self = (): Record<string, unknown> => {
    const me = agent.memberViews().find((v) => v.name === agent.name);
    const views = agent.memberViews();
    const count = (s: string): string => String(views.filter((v) => v.status === s).length);
    const counters = agent.counters();
    const checks = agent.checks();
    return {
      Config: {
        Datacenter: dc,
        PrimaryDatacenter: dc,
        NodeName: agent.name,
        NodeID: nodeId(agent.name),
        Revision: `hearsay-${VERSION}`,
        Server: false,
        Version: CONSUL_COMPAT_VERSION,
      },
      DebugConfig: {
        Datacenter: dc,
        NodeName: agent.name,
        NodeID: nodeId(agent.name),
        ServerMode: false,
        AdvertiseAddrLAN: agent.address.host,
        SerfPortLAN: agent.address.port,
        BindAddr: agent.bindAddress.host,
      },
      Member: agentMember({ name: agent.name, host: agent.address.host, port: agent.address.port, status: me?.status ?? 'alive', state: me?.state ?? { tags: {}, payload: null } }, dc),
      // Consul's Stats are strings, by subsystem.
      Stats: {
        agent: { services: String(agent.localServices().length), checks: String(checks.length), check_ttls: String(checks.filter((c) => c.kind === 'ttl').length) },
        serf_lan: {
          members: String(views.filter((v) => v.status === 'alive' || v.status === 'suspect').length),
          failed: count('dead'),
          left: count('left'),
          health_score: String(counters['healthScore'] ?? 0),
          incarnation: String(agent.incarnation),
        },
      },
      Meta: { ...(me?.state.tags ?? {}) },
      Hearsay: hearsaySelf(agent, ctx.options.profile),
    };
  };

  const joinHandler = async ({ params, query }: RequestContext): Promise<void> => {
    if (flag(query, 'wan')) throw new ApiError(400, API_ERROR_CODES.invalidRequest, 'a hearsay mesh has no WAN pool: join its gossip address without ?wan');
    const address = params.address ?? '';
    const parsed = parseSeed(address);
    if (!parsed.ok) throw new ApiError(400, API_ERROR_CODES.invalidRequest, `address ${JSON.stringify(address)} ${parsed.problem}`);
    try {
      const joined = await agent.join([address]);
      ctx.log?.info({ seed: address, joined }, 'joined through the HTTP API (Consul path)');
    } catch (err) {
      if (err instanceof HearsayError) throw toApiError(err);
      throw new ApiError(502, 'HEARSAY_ERR_JOIN_FAILED', `join failed: ${(err as Error).message ?? String(err)}; check that ${address} runs a hearsay agent and is reachable`);
    }
  };

  return [
    { method: 'GET', path: '/v1/agent/self', handler: consulRead(env, () => indexes.nodes(), () => self()) },
    {
      method: 'GET',
      path: '/v1/agent/members',
      handler: consulRead(env, () => indexes.nodes(), ({ query }) => (flag(query, 'wan') ? [] : agent.memberViews().map((v) => agentMember(v, dc)))),
    },
    {
      method: 'GET',
      path: '/v1/agent/services',
      handler: consulRead(env, () => indexes.services(), () => Object.fromEntries(own().map((i) => [i.id, agentService(i, dc)]))),
    },
    {
      method: 'GET',
      path: '/v1/agent/service/:id',
      handler: consulRead(env, () => indexes.services(), ({ params }) => {
        const s = agent.localServices().find((x) => x.record.id === params.id);
        if (s === undefined) throw new ApiError(404, 'HEARSAY_ERR_UNKNOWN_SERVICE', `no service instance with id ${JSON.stringify(params.id)} on this agent: list them with GET /v1/agent/services`);
        const svc = agentService(localInstance(agent, s), dc);
        return { ...svc, ContentHash: crypto().createHash('sha256').update(JSON.stringify(svc)).digest('hex').slice(0, 16) };
      }),
    },
    { method: 'GET', path: '/v1/agent/checks', handler: consulRead(env, index, () => agentChecks()) },
    {
      method: 'PUT',
      path: '/v1/agent/service/register',
      access: 'service',
      handler: consulWrite(env, () => indexes.services(), async ({ body, caller }) => {
        const example = '{"Name": "web", "Port": 8080, "Check": {"HTTP": "http://127.0.0.1:8080/health", "Interval": "10s"}}';
        const definition = fromConsulRegistration(await body(true, example));
        refuseCommandChecks(ctx, definition, caller);
        // Kept in the data dir across restarts, as Consul keeps API registrations; answered once durable.
        await agentCallAsync(() => agent.registerDurably(definition));
        return undefined;
      }),
    },
    {
      method: 'PUT',
      path: '/v1/agent/service/deregister/:id',
      access: 'service',
      handler: consulWrite(env, () => indexes.services(), async ({ params, caller }) => {
        const id = params.id ?? '';
        requireInstance(caller, agent, id, 'deregister');
        if (!(await agentCallAsync(() => agent.deregisterDurably(id)))) {
          throw new ApiError(404, 'HEARSAY_ERR_UNKNOWN_SERVICE', `no service instance with id ${JSON.stringify(id)} on this agent: list them with GET /v1/agent/services`);
        }
        return undefined;
      }),
    },
    {
      method: 'PUT',
      path: '/v1/agent/check/:action(pass|warn|fail)/:id',
      access: 'service',
      handler: consulWrite(env, index, ({ params, query, caller }) => {
        requireCheck(caller, agent, params.id ?? '');
        agentCall(() => agent.updateCheck(params.id ?? '', TTL[params.action ?? ''] as CheckStatus, query.get('note') ?? ''));
        return undefined;
      }),
    },
    {
      method: 'PUT',
      path: '/v1/agent/check/update/:id',
      access: 'service',
      handler: consulWrite(env, index, async ({ params, body, caller }) => {
        requireCheck(caller, agent, params.id ?? '');
        const example = '{"Status": "passing", "Output": "all good"}';
        const raw = await body(true, example);
        if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ApiError(400, API_ERROR_CODES.invalidRequest, `the body must be ${example}`);
        const fields = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.toLowerCase(), v as unknown]));
        const status = fields['status'];
        const output = fields['output'] ?? '';
        if (status !== 'passing' && status !== 'warning' && status !== 'critical') {
          throw new ApiError(400, API_ERROR_CODES.invalidRequest, `Status ${JSON.stringify(status)}: give "passing", "warning" or "critical", e.g. ${example}`);
        }
        if (typeof output !== 'string') throw new ApiError(400, API_ERROR_CODES.invalidRequest, `Output must be a string, e.g. ${example}`);
        agentCall(() => agent.updateCheck(params.id ?? '', status, output));
        return undefined;
      }),
    },
    {
      method: 'PUT',
      path: '/v1/agent/service/maintenance/:id',
      handler: consulWrite(env, index, ({ params, query }) => {
        const enable = enableOf(query);
        const reason = reasonOf(query);
        agentCall(() => agent.setMaintenance(enable, { serviceId: params.id ?? '', ...(reason === undefined ? {} : { reason }) }));
        return undefined;
      }),
    },
    {
      method: 'PUT',
      path: '/v1/agent/maintenance',
      handler: consulWrite(env, index, ({ query }) => {
        const enable = enableOf(query);
        const reason = reasonOf(query);
        agentCall(() => agent.setMaintenance(enable, reason === undefined ? {} : { reason }));
        return undefined;
      }),
    },
    { method: 'PUT', path: '/v1/agent/join/:address', handler: consulWrite(env, () => indexes.nodes(), joinHandler) },
    {
      method: 'PUT',
      path: '/v1/agent/leave',
      handler: consulWrite(env, () => indexes.nodes(), async ({ res }) => {
        try {
          await ctx.leave();
        } catch (err) {
          ctx.log?.error({ err }, 'leave through the HTTP API failed');
          throw new ApiError(500, err instanceof HearsayError ? err.code : API_ERROR_CODES.leaveFailed, `leave failed: ${(err as Error).message ?? String(err)}`);
        }
        ctx.log?.info('left the cluster through the HTTP API (PUT /v1/agent/leave)');
        res.once('finish', () => ctx.options.onLeave?.());
        return undefined;
      }),
    },
  ];
}
