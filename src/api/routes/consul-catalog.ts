/**
 * Consul's catalog, health and status reads over the agent's view (shapes in consul-shapes.ts,
 * parameters, headers and blocking in consul-query.ts):
 *
 *   GET /v1/catalog/services              {NAME: [tags...]} of every service with an instance on a live node; ?node-meta=
 *   GET /v1/catalog/service/:name         [CatalogService] of every instance (any health); ?tag= (repeatable, all must match), ?node-meta=
 *   GET /v1/catalog/nodes                 [Node] of every member that has not left; ?node-meta=
 *   GET /v1/catalog/node/:node            {Node, Services: {ID: AgentService}}, or null for a node the view does not have
 *   GET /v1/catalog/datacenters           [the agent's datacenter]
 *   GET /v1/health/service/:name          [{Node, Service, Checks}]; ?passing (every check passing), ?tag=, ?node-meta=
 *   GET /v1/health/checks/:name           [HealthCheck] of the service's instances
 *   GET /v1/health/state/:state           [HealthCheck] in state any|passing|warning|critical, node and service checks
 *   GET /v1/health/node/:node             [HealthCheck] of one node: serfHealth and its instances' checks
 *   GET /v1/status/leader                 "HOST:PORT": this agent (every agent answers for itself)
 *   GET /v1/status/peers                  ["HOST:PORT"]: this agent
 *
 * Ordering. /v1/catalog/service/:name and /v1/health/service/:name (without ?passing) list the
 * same instances in the same order, alive nodes first, then by node and id: Traefik's Consul
 * Catalog provider pairs the two answers by position (the health entry at index i is the catalog
 * entry at index i), so this order must stay the one agent.lookup() gives both.
 */
import type { AgentNode, AgentServices } from '../../agent/types.js';
import type { MemberView } from '../../membership/types.js';
import { checksByInstance } from '../../registry/check-entries.js';
import type { CheckInfo } from '../../registry/local.js';
import type { ServiceInstance } from '../../registry/types.js';
import { formatHostPort } from '../../transport/address.js';
import { API_ERROR_CODES, ApiError } from '../errors.js';
import type { Route } from '../router.js';
import { consulRead, flag, nodeMetaFilter, type ConsulRouteEnv } from './consul-query.js';
import {
  agentService,
  catalogService,
  consulNode,
  nodeChecks,
  nodeOfInstance,
  serviceChecks,
  worstStatus,
  type ConsulHealthCheck,
  type LocalDetail,
} from './consul-shapes.js';

export type ConsulCatalogAgent = Pick<AgentNode, 'name' | 'address' | 'memberViews'> &
  Pick<AgentServices, 'services' | 'lookup' | 'localServices' | 'checks' | 'nodeChecks' | 'nodeMaintenance'>;

/** Members that have not left (Consul keeps failed nodes in its catalog until they are reaped; left ones are deregistered). */
function listedViews(agent: ConsulCatalogAgent): Map<string, MemberView> {
  const out = new Map<string, MemberView>();
  for (const v of agent.memberViews()) if (v.status !== 'left') out.set(v.name, v);
  return out;
}

export function localDetail(agent: ConsulCatalogAgent): LocalDetail {
  // Other nodes' checks, grouped by instance on first use (one answer reads each node once).
  const remote = new Map<string, Map<string, CheckInfo[]>>();
  const remoteChecks = (node: string, serviceId: string): readonly CheckInfo[] => {
    let byInstance = remote.get(node);
    if (byInstance === undefined) {
      byInstance = checksByInstance(agent.nodeChecks(node));
      remote.set(node, byInstance);
    }
    return byInstance.get(serviceId) ?? [];
  };
  return {
    node: agent.name,
    services: new Map(agent.localServices().map((s) => [s.record.id, s])),
    checks: agent.checks(),
    nodeMaintenance: agent.nodeMaintenance(),
    remoteChecks,
  };
}

/** Every instance on a live node, by service name then lookup order. */
function allInstances(agent: ConsulCatalogAgent): ServiceInstance[] {
  return agent.services().flatMap(({ name }) => agent.lookup(name, { status: 'any' }));
}

export function consulCatalogRoutes(agent: ConsulCatalogAgent, env: ConsulRouteEnv): Route[] {
  const { indexes, datacenter: dc } = env;
  const nodeOf = (views: Map<string, MemberView>, i: ServiceInstance): Pick<MemberView, 'name' | 'host' | 'state' | 'status'> =>
    views.get(i.node) ?? { ...nodeOfInstance(i), status: 'alive' };

  /** The instances of `name` with every ?tag= and on nodes matching ?node-meta=, in lookup order (see Ordering). */
  const instancesOf = (name: string, query: URLSearchParams, views: Map<string, MemberView>): ServiceInstance[] => {
    const tags = query.getAll('tag').filter((t) => t !== '');
    const metaOk = nodeMetaFilter(query);
    return agent.lookup(name, { status: 'any', tags }).filter((i) => metaOk(nodeOf(views, i).state.tags));
  };

  const healthEntries = (name: string, query: URLSearchParams, index: number): unknown[] => {
    const views = listedViews(agent);
    const local = localDetail(agent);
    const passingOnly = flag(query, 'passing');
    const out: unknown[] = [];
    for (const i of instancesOf(name, query, views)) {
      const node = nodeOf(views, i);
      const checks = [...nodeChecks(node, local, index), ...serviceChecks(i, local, index)];
      if (passingOnly && worstStatus(checks) !== 'passing') continue;
      out.push({ Node: consulNode(node, dc, index), Service: agentService(i, dc, index), Checks: checks });
    }
    return out;
  };

  const STATES = ['any', 'passing', 'warning', 'critical', 'unknown'];

  return [
    {
      method: 'GET',
      path: '/v1/catalog/services',
      handler: consulRead(env, () => indexes.services(), ({ query }) => {
        const views = listedViews(agent);
        const metaOk = nodeMetaFilter(query);
        const out: Record<string, string[]> = {};
        for (const { name } of agent.services()) {
          const tags = new Set<string>();
          let any = false;
          for (const i of agent.lookup(name, { status: 'any' })) {
            if (!metaOk(nodeOf(views, i).state.tags)) continue;
            any = true;
            for (const t of i.tags) tags.add(t);
          }
          if (any) out[name] = [...tags].sort();
        }
        return out;
      }),
    },
    {
      method: 'GET',
      path: '/v1/catalog/service/:name',
      handler: consulRead(env, ({ params }) => indexes.service(params.name ?? ''), ({ params, query }, index) => {
        const views = listedViews(agent);
        return instancesOf(params.name ?? '', query, views).map((i) => catalogService(i, nodeOf(views, i), dc, index));
      }),
    },
    {
      method: 'GET',
      path: '/v1/catalog/nodes',
      handler: consulRead(env, () => indexes.nodes(), ({ query }, index) => {
        const metaOk = nodeMetaFilter(query);
        return [...listedViews(agent).values()]
          .filter((v) => metaOk(v.state.tags))
          .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
          .map((v) => consulNode(v, dc, index));
      }),
    },
    {
      method: 'GET',
      path: '/v1/catalog/node/:node',
      handler: consulRead(env, () => indexes.node(), ({ params }, index) => {
        const view = listedViews(agent).get(params.node ?? '');
        // Consul answers 200 with null for a node it does not know; its clients expect that, not a 404.
        if (view === undefined) return null;
        const services: Record<string, unknown> = {};
        for (const i of allInstances(agent)) if (i.node === view.name) services[i.id] = agentService(i, dc, index);
        return { Node: consulNode(view, dc, index), Services: services };
      }),
    },
    { method: 'GET', path: '/v1/catalog/datacenters', handler: consulRead(env, () => indexes.nodes(), () => [dc]) },
    {
      method: 'GET',
      path: '/v1/health/service/:name',
      handler: consulRead(env, ({ params }) => indexes.service(params.name ?? ''), ({ params, query }, index) => healthEntries(params.name ?? '', query, index)),
    },
    {
      method: 'GET',
      path: '/v1/health/checks/:name',
      handler: consulRead(env, ({ params }) => indexes.service(params.name ?? ''), ({ params, query }, index) => {
        const views = listedViews(agent);
        const local = localDetail(agent);
        return instancesOf(params.name ?? '', query, views).flatMap((i) => serviceChecks(i, local, index));
      }),
    },
    {
      method: 'GET',
      path: '/v1/health/state/:state',
      handler: consulRead(env, () => indexes.health(), ({ params, query }, index) => {
        const state = params.state ?? '';
        if (!STATES.includes(state)) throw new ApiError(400, API_ERROR_CODES.invalidRequest, `state ${JSON.stringify(state)}: use any, passing, warning or critical`);
        const views = listedViews(agent);
        const local = localDetail(agent);
        const metaOk = nodeMetaFilter(query);
        const out: ConsulHealthCheck[] = [];
        for (const v of views.values()) if (metaOk(v.state.tags)) out.push(...nodeChecks(v, local, index));
        for (const i of allInstances(agent)) if (metaOk(nodeOf(views, i).state.tags)) out.push(...serviceChecks(i, local, index));
        return state === 'any' ? out : out.filter((c) => c.Status === state);
      }),
    },
    {
      method: 'GET',
      path: '/v1/health/node/:node',
      handler: consulRead(env, () => indexes.health(), ({ params }, index) => {
        const view = listedViews(agent).get(params.node ?? '');
        if (view === undefined) return [];
        const local = localDetail(agent);
        return [...nodeChecks(view, local, index), ...allInstances(agent).filter((i) => i.node === view.name).flatMap((i) => serviceChecks(i, local, index))];
      }),
    },
    // Every agent answers from its own view and is its own authority: "the leader" is this agent,
    // so tools that wait for a leader before they start go ahead.
    { method: 'GET', path: '/v1/status/leader', handler: consulRead(env, () => indexes.nodes(), () => formatHostPort(agent.address)) },
    { method: 'GET', path: '/v1/status/peers', handler: consulRead(env, () => indexes.nodes(), () => [formatHostPort(agent.address)]) },
  ];
}
