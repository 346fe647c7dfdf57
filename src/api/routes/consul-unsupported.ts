/**
 * The Consul endpoints hearsay does not have, answered 501 with a JSON body naming what is missing
 * and what to use instead, never a 404 that looks like a typo. Every method, every path below
 * each prefix (`*`).
 */
import type { Method, Route } from '../router.js';

export const CONSUL_UNSUPPORTED_CODE = 'HEARSAY_ERR_CONSUL_UNSUPPORTED';

/** Path (a final `*` for everything below it) → what it is, and what to do instead. */
const UNSUPPORTED: readonly (readonly [path: string, feature: string, instead: string])[] = [
  ['/v1/kv/*', 'the KV store', 'hearsay has no key-value store (it has no servers to keep one consistent): keep configuration in files or a database'],
  ['/v1/txn', 'transactions', 'hearsay has no key-value store to transact on'],
  ['/v1/session/*', 'sessions', 'hearsay has no sessions or locks: they need a consistent store'],
  ['/v1/acl/*', 'ACLs', 'the HTTP API takes one bearer token (--http-token; sent as Authorization: Bearer or X-Consul-Token)'],
  ['/v1/agent/token/*', 'ACL tokens', 'the HTTP API takes one bearer token (--http-token)'],
  ['/v1/connect/*', 'Connect (the service mesh)', 'hearsay discovers services; it does not proxy or authorize connections'],
  ['/v1/agent/connect/*', 'Connect (the service mesh)', 'hearsay discovers services; it does not proxy or authorize connections'],
  ['/v1/event/*', 'user events', 'GET /v1/events streams membership and service events'],
  ['/v1/query', 'prepared queries', 'look services up with GET /v1/health/service/:name?passing&tag=TAG'],
  ['/v1/query/*', 'prepared queries', 'look services up with GET /v1/health/service/:name?passing&tag=TAG'],
  ['/v1/operator/*', 'operator endpoints (Raft, autopilot, keyring)', 'there is no Raft; gossip keys are managed with GET /v1/keys and POST /v1/keys/install|use|remove'],
  ['/v1/snapshot', 'snapshots', 'there is no server state to snapshot; each agent keeps its own data dir'],
  ['/v1/coordinate/*', 'network coordinates', 'not kept; probe round trips are on /metrics (hearsay_probe_rtt_seconds)'],
  ['/v1/config', 'config entries', 'not supported'],
  ['/v1/config/*', 'config entries', 'not supported'],
  ['/v1/catalog/register', 'catalog writes', 'register through the agent that runs the service: PUT /v1/agent/service/register'],
  ['/v1/catalog/deregister', 'catalog writes', 'deregister through the agent: PUT /v1/agent/service/deregister/:id'],
  ['/v1/agent/check/register', 'checks registered on their own', 'give the checks with the service (Check or Checks in PUT /v1/agent/service/register)'],
  ['/v1/agent/check/deregister/*', 'checks registered on their own', 'register the service again without the check'],
  ['/v1/agent/metrics', "Consul's JSON metrics", 'GET /metrics serves every metric in the Prometheus text format'],
  ['/v1/agent/host', 'host information', 'not supported'],
  ['/v1/namespace/*', 'namespaces', 'hearsay has one namespace, "default"'],
  ['/v1/namespaces', 'namespaces', 'hearsay has one namespace, "default"'],
  ['/v1/partition/*', 'admin partitions', 'hearsay has one partition, "default"'],
  ['/v1/partitions', 'admin partitions', 'hearsay has one partition, "default"'],
  ['/v1/peering/*', 'cluster peering', 'a mesh is one datacenter: join the meshes into one, or ask an agent of the other'],
  ['/v1/peerings', 'cluster peering', 'a mesh is one datacenter: join the meshes into one, or ask an agent of the other'],
  ['/v1/discovery-chain/*', 'discovery chains (Connect)', 'not supported'],
  ['/v1/internal/*', "Consul's internal endpoints", 'not supported'],
];

const METHODS: readonly Method[] = ['GET', 'PUT', 'POST', 'DELETE'];

export function consulUnsupportedRoutes(): Route[] {
  return UNSUPPORTED.flatMap(([path, feature, instead]) =>
    METHODS.map(
      (method): Route => ({
        method,
        path,
        listed: false,
        handler: ({ json }) =>
          json(501, {
            error: `${feature} (${path.replace(/\/\*$/, '')}) is a Consul feature hearsay does not have: ${instead}. See docs/from-consul.md`,
            code: CONSUL_UNSUPPORTED_CODE,
            unsupported: feature,
            endpoint: path.replace(/\/\*$/, ''),
          }),
      }),
    ),
  );
}
