/**
 * The Consul-compatible surface of the HTTP API, so that tools written for a Consul agent
 * (Prometheus' consul_sd, Traefik, consul-template, the npm `consul` client, python-consul, Go's
 * consul/api) work against a hearsay agent unchanged: the agent endpoints (consul-agent.ts), the
 * catalog, health and status reads (consul-catalog.ts), Prometheus HTTP service discovery
 * (prometheus-sd.ts) and 501 for the families hearsay does not have (consul-unsupported.ts).
 * docs/from-consul.md is the user's side of it.
 */
import type { Agent } from '../../agent/types.js';
import type { ApiContext } from '../context.js';
import type { Route } from '../router.js';
import { consulAgentRoutes } from './consul-agent.js';
import { consulCatalogRoutes } from './consul-catalog.js';
import { datacenterProblem } from '../../registry/validate.js';
import { ConsulIndexes, DEFAULT_DATACENTER, unlisted, type ConsulRouteEnv } from './consul-query.js';
import { consulUnsupportedRoutes } from './consul-unsupported.js';
import { prometheusSdRoutes } from './prometheus-sd.js';

/** What a 404 says of the routes it does not list. */
export const CONSUL_ROUTES_NOTE = "and Consul's agent, catalog, health and status endpoints (docs/from-consul.md)";

export function consulRoutes(agent: Agent, ctx: ApiContext): { routes: Route[]; stop(): void } {
  const datacenter = ctx.options.datacenter ?? DEFAULT_DATACENTER;
  const problem = datacenterProblem(datacenter);
  if (problem !== undefined) throw new RangeError(`createHttpServer: ${problem}`);
  const indexes = new ConsulIndexes(agent);
  const env: ConsulRouteEnv = { agent, ctx, indexes, datacenter };
  return {
    routes: [
      ...unlisted([...consulAgentRoutes(agent, env, ctx), ...consulCatalogRoutes(agent, env)]),
      ...prometheusSdRoutes(agent, env),
      ...consulUnsupportedRoutes(),
    ],
    stop: () => indexes.stop(),
  };
}
