/**
 * The agent's data in Consul's JSON shapes, field for field as Consul's api package declares them
 * (api/agent.go AgentService, AgentCheck, AgentMember; api/catalog.go Node, CatalogService;
 * api/health.go HealthCheck, ServiceEntry). Pure functions of what the agent knows.
 *
 * What hearsay has and Consul calls otherwise:
 * - a node's tags are its Consul node `Meta`; its advertise host is `Address` (and the lan/wan
 *   TaggedAddresses); its `ID` is a UUID made from its name (the same on every agent).
 * - an instance's health is one status its node publishes: this agent shows its own instances' real
 *   checks, and for another node's instance one check `service:ID` with that status (or
 *   `_service_maintenance:ID`, critical, for maintenance).
 * - the node-level `serfHealth` check comes from the member's status: alive and suspect are
 *   passing (as in Consul, where a suspected member is alive until declared failed), dead is
 *   critical. Left members are gone, as Consul deregisters them.
 */
import type * as Crypto from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { MemberView } from '../../membership/types.js';
import type { CheckInfo, CheckSpec, LocalService } from '../../registry/local.js';
import type { HealthStatus, ServiceInstance } from '../../registry/types.js';
import { formatDuration } from '../../util/duration.js';

/** node:crypto, loaded on first use: an agent that never needs it does not pay for it at start (bench:light). */
const crypto = (): typeof Crypto => process.getBuiltinModule('node:crypto');

/** A Consul health status: hearsay's maintenance is a critical maintenance check. */
export type ConsulStatus = 'passing' | 'warning' | 'critical';

export interface ConsulNode {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: Record<string, string>;
  Meta: Record<string, string>;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface ConsulAgentService {
  ID: string;
  Service: string;
  Tags: string[];
  Meta: Record<string, string>;
  Port: number;
  Address: string;
  Weights: { Passing: number; Warning: number };
  EnableTagOverride: boolean;
  Datacenter: string;
  CreateIndex?: number;
  ModifyIndex?: number;
  ContentHash?: string;
}

export interface ConsulHealthCheck {
  Node: string;
  CheckID: string;
  Name: string;
  Status: ConsulStatus;
  Notes: string;
  Output: string;
  ServiceID: string;
  ServiceName: string;
  ServiceTags: string[];
  Type: string;
  Interval: string;
  Timeout: string;
  ExposedPort: number;
  Definition: Record<string, unknown>;
  CreateIndex: number;
  ModifyIndex: number;
}

/** Serf's member status numbers (api/agent.go AgentMemberStatus). */
export const MEMBER_STATUS = { alive: 1, suspect: 1, left: 3, dead: 4 } as const;

/** A stable UUID for a node name, the same on every agent (Consul's node IDs are UUIDs). */
export function nodeId(name: string): string {
  const h = crypto().createHash('sha256').update(`hearsay-node:${name}`, 'utf8').digest('hex');
  // Version 8 (custom) and the RFC 4122 variant, so that UUID parsers take it.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16] as string, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function taggedAddresses(host: string): Record<string, string> {
  const family = isIPv6(host) ? 'ipv6' : isIPv4(host) ? 'ipv4' : undefined;
  return { lan: host, wan: host, ...(family === undefined ? {} : { [`lan_${family}`]: host, [`wan_${family}`]: host }) };
}

export function consulNode(view: Pick<MemberView, 'name' | 'host' | 'state'>, datacenter: string, index: number): ConsulNode {
  return {
    ID: nodeId(view.name),
    Node: view.name,
    Address: view.host,
    Datacenter: datacenter,
    TaggedAddresses: taggedAddresses(view.host),
    Meta: { ...view.state.tags },
    CreateIndex: index,
    ModifyIndex: index,
  };
}

/** A node the view does not list (an instance seen just before its node's entry): what the instance tells. */
export function nodeOfInstance(instance: ServiceInstance): Pick<MemberView, 'name' | 'host' | 'state'> {
  return { name: instance.node, host: instance.address, state: { tags: {}, payload: null } };
}

export function agentService(instance: ServiceInstance, datacenter: string, index?: number): ConsulAgentService {
  return {
    ID: instance.id,
    Service: instance.name,
    Tags: [...instance.tags],
    Meta: { ...instance.meta },
    Port: instance.port,
    Address: instance.address,
    // hearsay has no weights: every instance is 1 (Consul's default when none is given).
    Weights: { Passing: 1, Warning: 1 },
    EnableTagOverride: false,
    Datacenter: datacenter,
    ...(index === undefined ? {} : { CreateIndex: index, ModifyIndex: index }),
  };
}

/** The catalog's row for an instance (api/catalog.go CatalogService). */
export function catalogService(instance: ServiceInstance, node: Pick<MemberView, 'name' | 'host' | 'state'>, datacenter: string, index: number): Record<string, unknown> {
  return {
    ID: nodeId(node.name),
    Node: node.name,
    Address: node.host,
    Datacenter: datacenter,
    TaggedAddresses: taggedAddresses(node.host),
    NodeMeta: { ...node.state.tags },
    ServiceKind: '',
    ServiceID: instance.id,
    ServiceName: instance.name,
    ServiceTags: [...instance.tags],
    ServiceAddress: instance.address,
    ServiceTaggedAddresses: {},
    ServiceWeights: { Passing: 1, Warning: 1 },
    ServiceMeta: { ...instance.meta },
    ServicePort: instance.port,
    ServiceEnableTagOverride: false,
    CreateIndex: index,
    ModifyIndex: index,
  };
}

function check(fields: Partial<ConsulHealthCheck> & Pick<ConsulHealthCheck, 'Node' | 'CheckID' | 'Name' | 'Status'>, index: number): ConsulHealthCheck {
  // In Consul's field order (api/health.go HealthCheck), so that an answer reads as Consul's does.
  return {
    Node: fields.Node,
    CheckID: fields.CheckID,
    Name: fields.Name,
    Status: fields.Status,
    Notes: fields.Notes ?? '',
    Output: fields.Output ?? '',
    ServiceID: fields.ServiceID ?? '',
    ServiceName: fields.ServiceName ?? '',
    ServiceTags: fields.ServiceTags ?? [],
    Type: fields.Type ?? '',
    Interval: fields.Interval ?? '',
    Timeout: fields.Timeout ?? '',
    ExposedPort: 0,
    Definition: fields.Definition ?? {},
    CreateIndex: index,
    ModifyIndex: index,
  };
}

/** The node-level check Consul derives from Serf: the member's liveness. */
export function serfHealth(view: Pick<MemberView, 'name' | 'status'>, index: number): ConsulHealthCheck {
  const live = view.status === 'alive' || view.status === 'suspect';
  return check(
    {
      Node: view.name,
      CheckID: 'serfHealth',
      Name: 'Serf Health Status',
      Status: live ? 'passing' : 'critical',
      Output: live ? 'Agent alive and reachable' : 'Agent not live or unreachable',
    },
    index,
  );
}

/** Consul's node maintenance check (critical while the node is in maintenance). */
export function nodeMaintenanceCheck(node: string, reason: string, index: number): ConsulHealthCheck {
  return check({ Node: node, CheckID: '_node_maintenance', Name: 'Node Maintenance Mode', Status: 'critical', Notes: reason }, index);
}

function serviceMaintenanceCheck(instance: ServiceInstance, reason: string, index: number): ConsulHealthCheck {
  return check(
    {
      Node: instance.node,
      CheckID: `_service_maintenance:${instance.id}`,
      Name: 'Service Maintenance Mode',
      Status: 'critical',
      Notes: reason,
      ServiceID: instance.id,
      ServiceName: instance.name,
      ServiceTags: [...instance.tags],
    },
    index,
  );
}

/** Consul's check types: hearsay's command checks are Consul's script checks. */
function checkType(kind: CheckSpec['kind']): string {
  return kind === 'command' ? 'script' : kind;
}

function definition(spec: CheckSpec | undefined): Record<string, unknown> {
  if (spec === undefined) return {};
  const out: Record<string, unknown> = {};
  if (spec.kind === 'http') out.HTTP = spec.target;
  if (spec.kind === 'tcp') out.TCP = spec.target;
  if (spec.kind === 'command') out.ScriptArgs = [...(spec.target as readonly string[])];
  if (spec.kind !== 'ttl') {
    out.Interval = formatDuration(spec.intervalMs);
    out.Timeout = formatDuration(spec.timeoutMs);
  }
  if (spec.deregisterCriticalAfterMs !== undefined) out.DeregisterCriticalServiceAfter = formatDuration(spec.deregisterCriticalAfterMs);
  return out;
}

/** What this agent knows of its own instances: their definitions and their checks' results. */
export interface LocalDetail {
  readonly node: string;
  readonly services: ReadonlyMap<string, LocalService>;
  readonly checks: readonly CheckInfo[];
  /** Node-wide maintenance reason, if any. */
  readonly nodeMaintenance: string | undefined;
  /** Another node's instance's checks as that node published them (empty when it published none). */
  readonly remoteChecks?: (node: string, serviceId: string) => readonly CheckInfo[];
}

/** A local check as Consul shows it. */
export function localCheck(info: CheckInfo, instance: Pick<ServiceInstance, 'name' | 'tags'>, spec: CheckSpec | undefined, node: string, index: number): ConsulHealthCheck {
  return check(
    {
      Node: node,
      CheckID: info.id,
      Name: `Service '${instance.name}' check`,
      Status: info.status,
      Output: info.output,
      ServiceID: info.serviceId,
      ServiceName: instance.name,
      ServiceTags: [...instance.tags],
      Type: checkType(info.kind),
      Interval: spec === undefined || spec.kind === 'ttl' ? '' : formatDuration(spec.intervalMs),
      Timeout: spec === undefined || spec.kind === 'ttl' ? '' : formatDuration(spec.timeoutMs),
      Definition: definition(spec),
    },
    index,
  );
}

/**
 * An instance's service-level checks: this agent's own real checks (and its maintenance check); for
 * another node's instance, its checks as that node published them, or, when it published none (an
 * instance without checks), the one status its instance entry carries, as `service:ID`.
 */
export function serviceChecks(instance: ServiceInstance, local: LocalDetail, index: number): ConsulHealthCheck[] {
  if (instance.node === local.node) {
    const svc = local.services.get(instance.id);
    if (svc !== undefined) {
      const out: ConsulHealthCheck[] = [];
      // Node maintenance is the node-level _node_maintenance check; only an instance's own is here.
      if (svc.maintenance !== undefined && local.nodeMaintenance === undefined) out.push(serviceMaintenanceCheck(instance, svc.maintenance, index));
      for (const c of local.checks) {
        if (c.serviceId === instance.id) out.push(localCheck(c, instance, svc.checks.find((s) => s.id === c.id), local.node, index));
      }
      return out;
    }
  }
  const published = instance.node === local.node ? [] : (local.remoteChecks?.(instance.node, instance.id) ?? []);
  if (published.length > 0) {
    const out = instance.status === 'maintenance' ? [serviceMaintenanceCheck(instance, '', index)] : [];
    for (const c of published) out.push(localCheck(c, instance, undefined, instance.node, index));
    return out;
  }
  if (instance.status === 'maintenance') return [serviceMaintenanceCheck(instance, '', index)];
  return [
    check(
      {
        Node: instance.node,
        CheckID: `service:${instance.id}`,
        Name: `Service '${instance.name}' check`,
        Status: instance.status as Exclude<HealthStatus, 'maintenance'>,
        Output: `the health of this instance as its node ${instance.node} publishes it (the worst of its checks)`,
        ServiceID: instance.id,
        ServiceName: instance.name,
        ServiceTags: [...instance.tags],
      },
      index,
    ),
  ];
}

/** The node-level checks of a member: serfHealth, and _node_maintenance for this agent in maintenance. */
export function nodeChecks(view: Pick<MemberView, 'name' | 'status'>, local: LocalDetail, index: number): ConsulHealthCheck[] {
  const out = [serfHealth(view, index)];
  if (view.name === local.node && local.nodeMaintenance !== undefined) out.push(nodeMaintenanceCheck(view.name, local.nodeMaintenance, index));
  return out;
}

/** Consul's aggregate: critical beats warning beats passing. */
export function worstStatus(checks: readonly ConsulHealthCheck[]): ConsulStatus {
  let worst: ConsulStatus = 'passing';
  for (const c of checks) {
    if (c.Status === 'critical') return 'critical';
    if (c.Status === 'warning') worst = 'warning';
  }
  return worst;
}

/** An AgentMember (api/agent.go): Status as Serf's number, protocol versions as Consul 1.x reports them. */
export function agentMember(view: Pick<MemberView, 'name' | 'host' | 'port' | 'status' | 'state'>, datacenter: string): Record<string, unknown> {
  return {
    Name: view.name,
    Addr: view.host,
    Port: view.port,
    Tags: { dc: datacenter, role: 'node', ...view.state.tags },
    Status: MEMBER_STATUS[view.status],
    ProtocolMin: 1,
    ProtocolMax: 5,
    ProtocolCur: 2,
    DelegateMin: 2,
    DelegateMax: 5,
    DelegateCur: 4,
  };
}
