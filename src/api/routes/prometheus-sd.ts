/**
 * Prometheus HTTP service discovery (http_sd_configs): GET /v1/prometheus/sd answers one target
 * group per instance on a live node (any health: Prometheus should keep scraping an unhealthy
 * instance; `__meta_hearsay_status` tells them apart), optionally `?service=NAME` and `?tag=T`
 * (repeatable, all must match). Labels (values are strings, names sanitized to [a-zA-Z0-9_]):
 *
 *   __meta_hearsay_service, __meta_hearsay_service_id, __meta_hearsay_node,
 *   __meta_hearsay_service_address, __meta_hearsay_service_port, __meta_hearsay_status,
 *   __meta_hearsay_datacenter, __meta_hearsay_tags (",a,b,": Consul's form, so that a regex
 *   ".*,a,.*" matches a tag), __meta_hearsay_meta_KEY (service meta), __meta_hearsay_node_meta_KEY
 *   (node tags)
 *
 * The answer is JSON with content-type application/json, as Prometheus requires, and carries the
 * Consul headers, so `?index=` blocks like any Consul read.
 */
import type { AgentNode, AgentServices } from '../../agent/types.js';
import type { MemberView } from '../../membership/types.js';
import { formatHostPort } from '../../transport/address.js';
import type { Route } from '../router.js';
import { consulRead, type ConsulRouteEnv } from './consul-query.js';

function labelName(key: string): string {
  return key.replace(/[^a-zA-Z0-9_]/g, '_');
}

export function prometheusSdRoutes(agent: Pick<AgentServices, 'services' | 'lookup'> & Pick<AgentNode, 'memberViews'>, env: ConsulRouteEnv): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/prometheus/sd',
      handler: consulRead(
        env,
        ({ query }) => {
          const service = query.get('service');
          return service === null || service === '' ? env.indexes.services() : env.indexes.service(service);
        },
        ({ query }) => {
          const service = query.get('service');
          const tags = query.getAll('tag').filter((t) => t !== '');
          const names = service === null || service === '' ? agent.services().map((s) => s.name) : [service];
          const views = new Map<string, MemberView>(agent.memberViews().map((v) => [v.name, v]));
          return names.flatMap((name) =>
            agent.lookup(name, { status: 'any', tags }).map((i) => {
              const labels: Record<string, string> = {
                __meta_hearsay_service: i.name,
                __meta_hearsay_service_id: i.id,
                __meta_hearsay_node: i.node,
                __meta_hearsay_service_address: i.address,
                __meta_hearsay_service_port: String(i.port),
                __meta_hearsay_status: i.status,
                __meta_hearsay_datacenter: env.datacenter,
                __meta_hearsay_tags: i.tags.length === 0 ? '' : `,${i.tags.join(',')},`,
              };
              for (const [k, v] of Object.entries(i.meta)) labels[`__meta_hearsay_meta_${labelName(k)}`] = v;
              for (const [k, v] of Object.entries(views.get(i.node)?.state.tags ?? {})) labels[`__meta_hearsay_node_meta_${labelName(k)}`] = v;
              return { targets: [formatHostPort({ host: i.address, port: i.port })], labels };
            }),
          );
        },
      ),
    },
  ];
}
