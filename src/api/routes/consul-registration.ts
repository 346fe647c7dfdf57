/**
 * Consul's service definition (PUT /v1/agent/service/register, api/agent.go
 * AgentServiceRegistration and AgentServiceCheck) as hearsay's ServiceDefinition.
 *
 * Field names are matched as Consul's decoder matches them: without regard to case, and with
 * snake_case accepted (`DeregisterCriticalServiceAfter`, `deregister_critical_service_after`).
 * A null field is an absent one (Go's api sends `"Check": null, "Checks": null`).
 *
 * Mapped one to one: Name, ID (default: Name, as Consul), Tags, Address ("" is the agent's
 * address), Port, Meta, and each check's CheckID (or ID), TTL, HTTP, TCP, Args (ScriptArgs),
 * Interval, Timeout, Status, DeregisterCriticalServiceAfter, SuccessBeforePassing,
 * FailuresBeforeCritical. Check ids default as Consul's: `service:ID`, or `service:ID:N` (N from 1)
 * when the service has several checks; Check comes before Checks.
 *
 * Accepted and without effect: EnableTagOverride (nothing outside the agent rewrites its services),
 * Weights (every instance weighs the same), TaggedAddresses, Locality, a check's Name and Notes
 * (a check is shown as "Service 'NAME' check"), OutputMaxSize, FailuresBeforeWarning, Method "GET",
 * TLSSkipVerify false, an Interval on a TTL check (Consul ignores it too), Namespace and Partition
 * "default". Anything else, such as a Connect sidecar, gRPC/H2PING/UDP/alias/Docker checks, HTTP
 * headers or bodies, is refused with 400 naming it, rather than registered differently from what
 * was asked.
 */
import type { CheckDefinition, ServiceDefinition } from '../../registry/local.js';
import { ApiError } from '../errors.js';

const INVALID = 'HEARSAY_ERR_INVALID_SERVICE';

const fail = (message: string): ApiError => new ApiError(400, INVALID, `invalid Consul service registration: ${message}`);

/** A key as Consul's decoder sees it: lowercase, no underscores or dashes. */
function norm(key: string): string {
  return key.toLowerCase().replace(/[_-]/g, '');
}

/** The fields of a JSON object by normalized name; null fields are absent. `where` names the object in errors. */
function fieldsOf(value: unknown, where: string): Map<string, { key: string; value: unknown }> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail(`${where} must be a JSON object`);
  const out = new Map<string, { key: string; value: unknown }>();
  for (const [key, v] of Object.entries(value)) {
    if (v === null) continue;
    const n = norm(key);
    if (out.has(n)) throw fail(`${where} gives ${JSON.stringify(key)} twice (as ${JSON.stringify(out.get(n)?.key)} too)`);
    out.set(n, { key, value: v });
  }
  return out;
}

const SERVICE_FIELDS = new Set(['name', 'id', 'tags', 'port', 'address', 'meta', 'check', 'checks']);
const SERVICE_IGNORED = new Set(['enabletagoverride', 'weights', 'taggedaddresses', 'locality', 'namespace', 'partition', 'kind']);
const SERVICE_UNSUPPORTED: Readonly<Record<string, string>> = {
  connect: 'Connect (the service mesh) is not supported: register the service without "Connect"',
  proxy: 'Connect proxies are not supported: register the service without "Proxy"',
  socketpath: 'Unix socket services are not supported: give Address and Port',
};

const CHECK_FIELDS = new Set([
  'checkid',
  'id',
  'ttl',
  'http',
  'tcp',
  'args',
  'scriptargs',
  'interval',
  'timeout',
  'status',
  'deregistercriticalserviceafter',
  'successbeforepassing',
  'failuresbeforecritical',
]);
const CHECK_IGNORED = new Set(['name', 'notes', 'outputmaxsize', 'failuresbeforewarning', 'method', 'tlsskipverify', 'type']);
const CHECK_UNSUPPORTED: Readonly<Record<string, string>> = {
  grpc: 'gRPC checks are not supported: use an HTTP, TCP or TTL check',
  grpcusetls: 'gRPC checks are not supported: use an HTTP, TCP or TTL check',
  h2ping: 'H2PING checks are not supported: use an HTTP, TCP or TTL check',
  h2pingusetls: 'H2PING checks are not supported: use an HTTP, TCP or TTL check',
  udp: 'UDP checks are not supported: use a TCP, HTTP or TTL check',
  aliasnode: 'alias checks are not supported: give the service its own check',
  aliasservice: 'alias checks are not supported: give the service its own check',
  dockercontainerid: 'Docker checks are not supported: use Args with `docker exec ...` (a script check) or an HTTP/TCP check',
  shell: 'Docker checks are not supported: use Args with `docker exec ...` (a script check) or an HTTP/TCP check',
  osservice: 'OS service checks are not supported: use Args (a script check) such as ["systemctl", "is-active", "NAME"]',
  script: '"Script" was removed in Consul 1.1: give "Args", e.g. ["/usr/local/bin/check.sh"]',
  header: 'HTTP checks with headers are not supported: check a URL that needs none',
  body: 'HTTP checks with a body are not supported: check a URL with GET',
  disableredirects: 'HTTP check redirect settings are not supported',
  tlsservername: 'TLSServerName is not supported: check a URL whose name matches its certificate',
  tcpusetls: 'TCP checks over TLS are not supported: use an https:// HTTP check',
};

function checkOf(value: unknown, where: string, defaultId: string): CheckDefinition {
  const f = fieldsOf(value, where);
  const out: Record<string, unknown> = {};
  for (const [n, { key }] of f) {
    if (CHECK_UNSUPPORTED[n] !== undefined) throw fail(`${where}.${key}: ${CHECK_UNSUPPORTED[n]}`);
    if (!CHECK_FIELDS.has(n) && !CHECK_IGNORED.has(n)) {
      throw fail(`${where} has the unknown field ${JSON.stringify(key)}: a check takes CheckID, TTL, HTTP, TCP, Args, Interval, Timeout, Status, DeregisterCriticalServiceAfter, SuccessBeforePassing, FailuresBeforeCritical`);
    }
  }
  const get = (n: string): unknown => f.get(n)?.value;
  const method = get('method');
  if (method !== undefined && (typeof method !== 'string' || (method !== '' && method.toUpperCase() !== 'GET'))) {
    throw fail(`${where}.Method ${JSON.stringify(method)}: hearsay's HTTP checks use GET; leave Method out`);
  }
  if (get('tlsskipverify') === true) throw fail(`${where}.TLSSkipVerify: hearsay's HTTP checks always verify TLS certificates; check over http:// or with a trusted certificate`);
  const id = get('checkid') ?? get('id') ?? defaultId;
  out.id = id;
  const ttl = get('ttl');
  const http = get('http');
  const tcp = get('tcp');
  const args = get('args') ?? get('scriptargs');
  if (f.has('args') && f.has('scriptargs')) throw fail(`${where} gives both Args and ScriptArgs: give one`);
  const kinds = [ttl, http, tcp, args].filter((k) => k !== undefined && k !== '').length;
  if (kinds !== 1) throw fail(`${where} must have exactly one of TTL, HTTP, TCP or Args (it has ${kinds === 0 ? 'none' : kinds})`);
  if (ttl !== undefined && ttl !== '') out.ttl = ttl;
  else {
    if (http !== undefined && http !== '') out.http = http;
    if (tcp !== undefined && tcp !== '') out.tcp = tcp;
    if (args !== undefined) out.command = args;
    const interval = get('interval');
    if (interval === undefined || interval === '') throw fail(`${where} needs an Interval for its ${http !== undefined ? 'HTTP' : tcp !== undefined ? 'TCP' : 'script'} check, e.g. "10s"`);
    out.interval = interval;
  }
  const copy = (from: string, to: string): void => {
    const v = get(from);
    if (v !== undefined && v !== '') out[to] = v;
  };
  copy('timeout', 'timeout');
  copy('status', 'status');
  copy('deregistercriticalserviceafter', 'deregisterCriticalAfter');
  copy('successbeforepassing', 'successBeforePassing');
  copy('failuresbeforecritical', 'failuresBeforeCritical');
  return out as CheckDefinition;
}

/** A Consul registration body as hearsay's definition; throws ApiError 400 naming the field. */
export function fromConsulRegistration(body: unknown): ServiceDefinition {
  const f = fieldsOf(body, 'the body');
  for (const [n, { key }] of f) {
    if (SERVICE_UNSUPPORTED[n] !== undefined) throw fail(`${key}: ${SERVICE_UNSUPPORTED[n]}`);
    if (!SERVICE_FIELDS.has(n) && !SERVICE_IGNORED.has(n)) {
      throw fail(`unknown field ${JSON.stringify(key)}: a service takes Name, ID, Tags, Address, Port, Meta, Check and Checks, e.g. {"Name": "web", "Port": 8080, "Check": {"HTTP": "http://127.0.0.1:8080/health", "Interval": "10s"}}`);
    }
  }
  const get = (n: string): unknown => f.get(n)?.value;
  const kind = get('kind');
  if (kind !== undefined && kind !== '') throw fail(`Kind ${JSON.stringify(kind)}: only typical services (no Kind) are supported; Connect proxies and gateways are not`);
  for (const n of ['namespace', 'partition']) {
    const v = get(n);
    if (v !== undefined && v !== '' && v !== 'default') throw fail(`${n === 'namespace' ? 'Namespace' : 'Partition'} ${JSON.stringify(v)}: hearsay has one, "default"`);
  }
  const name = get('name');
  if (name === undefined) throw fail('Name is missing: give the service name, e.g. {"Name": "web", "Port": 8080}');
  const id = get('id') ?? name;
  const def: Record<string, unknown> = { id, name };
  const port = get('port');
  if (port === undefined || port === 0) throw fail('Port is missing: hearsay services have a port (1-65535), e.g. {"Name": "web", "Port": 8080}');
  def.port = port;
  const address = get('address');
  if (address !== undefined && address !== '') def.address = address;
  const tags = get('tags');
  if (tags !== undefined) def.tags = tags;
  const meta = get('meta');
  if (meta !== undefined) def.meta = meta;
  const single = get('check');
  const list = get('checks');
  if (list !== undefined && !Array.isArray(list)) throw fail('Checks must be an array of checks');
  const all = [...(single === undefined ? [] : [{ value: single, where: 'Check' }]), ...((list as unknown[] | undefined) ?? []).filter((c) => c !== null).map((value, i) => ({ value, where: `Checks[${i}]` }))];
  if (all.length > 0) {
    const sid = typeof id === 'string' ? id : String(id);
    def.checks = all.map(({ value, where }, i) => checkOf(value, where, all.length === 1 ? `service:${sid}` : `service:${sid}:${i + 1}`));
  }
  return def as unknown as ServiceDefinition;
}
