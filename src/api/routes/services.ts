/**
 * The service routes of the agent's HTTP API (mounted by server.ts):
 *
 *   PUT    /v1/services              register; body {name, port, id?, address?, tags?, meta?, checks?}
 *                                   → the instance {id, name, node, address, port, tags, meta, status}
 *   DELETE /v1/services/:id          deregister → {deregistered: true, id}
 *   GET    /v1/services              [{name, instances, passing}]
 *   GET    /v1/services/:name        ?tag=T (repeatable) &status=passing|warning|critical|maintenance|any
 *                                   (comma list) &index=N &wait=DURATION → array of instances; with
 *                                   `index`, a blocking query that answers once the name's index
 *                                   differs from N or `wait` (default 5m, at most 10m) elapses.
 *                                   Every answer carries X-Hearsay-Index.
 *   GET    /v1/pick/:name            ?tag=T &strategy=round-robin|random → one passing instance (404 if none)
 *   GET    /v1/registrations         this agent's registrations with their checks (GET /v1/agent/services
 *                                   is Consul's map of them: consul-agent.ts)
 *   GET    /v1/checks                this agent's checks {id, serviceId, kind, status, output};
 *                                     ?node=NAME another node's, as it published them (output cut to 256 bytes)
 *   PUT    /v1/checks/:id/pass|warn|fail   a TTL check's update; optional body {"note": "..."} or ?note=
 *   PUT    /v1/maintenance           ?enable=true|false &service=ID &reason=TEXT (or the same as a JSON
 *                                   body {enable, serviceId?, reason?}); without a service, the whole node
 */
import type { AgentEvent, AgentEvents, AgentNode, AgentServices } from '../../agent/types.js';
import type { CheckStatus } from '../../registry/local.js';
import type { HealthStatus, LookupOptions } from '../../registry/types.js';
import { isHealthStatus } from '../../registry/validate.js';
import { parseDuration } from '../../util/duration.js';
import { waitForIndex } from '../blocking.js';
import type { ApiContext } from '../context.js';
import { agentCall, agentCallAsync, API_ERROR_CODES, ApiError } from '../errors.js';
import type { Handler, Route } from '../router.js';
import { requireCheck, requireInstance, requireRegistration } from '../access.js';
import type { ApiCaller } from '../tokens.js';

/** What the service routes use of the agent. */
export type ServiceAgent = AgentServices & AgentEvents & Pick<AgentNode, 'name' | 'address'>;

/** Whether a registration body declares a command check (in `checks`, or Consul's `check`/`Check`). */
function hasCommandCheck(body: object): boolean {
  const b = body as { checks?: unknown; check?: unknown };
  const list = [...(Array.isArray(b.checks) ? b.checks : []), b.check];
  return list.some((c) => typeof c === 'object' && c !== null && (c as { command?: unknown }).command !== undefined);
}

/**
 * Throws 403 for a registration (hearsay's definition, or Consul's once translated) that the
 * caller's token does not allow (its service name; a command check needs "commandChecks"), and
 * for one with a command check unless the agent accepts them through the API (--enable-script-checks).
 */
export function refuseCommandChecks(ctx: ApiContext, definition: object, caller: ApiCaller): void {
  const command = hasCommandCheck(definition);
  requireRegistration(caller, definition, command && ctx.options.allowCommandChecks === true);
  if (ctx.options.allowCommandChecks === true || !command) return;
  throw fail(
    403,
    'HEARSAY_ERR_COMMAND_CHECKS_DISABLED',
    "command checks run a program as the agent's user, so the API refuses them by default: declare the check in the agent's config file, " +
      'use an http, tcp or ttl check, or start the agent with --enable-script-checks (config "enableScriptChecks": true) if every local caller may run programs as it',
  );
}

const fail = (status: number, code: string, message: string, headers?: Readonly<Record<string, string>>): ApiError => new ApiError(status, code, message, headers);

const DEFAULT_WAIT_MS = 5 * 60_000;
const MAX_WAIT_MS = 10 * 60_000;
const TTL_ACTIONS: Readonly<Record<string, CheckStatus>> = { pass: 'passing', warn: 'warning', fail: 'critical' };

export function serviceRoutes(agent: ServiceAgent, ctx: ApiContext): Route[] {
  const lookupOptions = (query: URLSearchParams, headers: Readonly<Record<string, string>> = {}): LookupOptions => {
    const tags = query.getAll('tag').filter((x) => x !== '');
    const statusParam = query.get('status');
    let status: LookupOptions['status'] = 'passing';
    if (statusParam !== null && statusParam !== '') {
      const parts = statusParam.split(',').map((s) => s.trim());
      if (parts.length === 1 && parts[0] === 'any') status = 'any';
      else {
        const bad = parts.filter((p) => !isHealthStatus(p));
        if (bad.length > 0) {
          throw fail(400, 'HEARSAY_ERR_INVALID_REQUEST', `status ${JSON.stringify(statusParam)}: use passing, warning, critical, maintenance or any, or a comma list of them`, headers);
        }
        status = parts as HealthStatus[];
      }
    }
    return { tags, status };
  };

  const register: Handler = async ({ body: readBody, json, caller }) => {
    const example = '{"name": "billing", "port": 8080, "tags": ["v2"], "checks": [{"http": "http://127.0.0.1:8080/health", "interval": "10s"}]}';
    const body = await readBody(true, example);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw fail(400, 'HEARSAY_ERR_INVALID_SERVICE', `the body must be a JSON object such as ${example}`);
    }
    refuseCommandChecks(ctx, body, caller);
    // Registrations through the API are kept in the data dir (if any) across restarts, as Consul does.
    // Answered only once the registration is durable (fsynced): a 2xx survives kill -9.
    const instance = await agentCallAsync(() => agent.registerDurably(body as Parameters<AgentServices['register']>[0]));
    json(200, instance);
  };

  const deregister: Handler = async ({ params: { id = '' }, json, caller }) => {
    requireInstance(caller, agent, id, 'deregister');
    if (!(await agentCallAsync(() => agent.deregisterDurably(id)))) {
      throw fail(404, 'HEARSAY_ERR_UNKNOWN_SERVICE', `no service instance with id ${JSON.stringify(id)} on this agent: list them with GET /v1/registrations`);
    }
    json(200, { deregistered: true, id });
  };

  const list: Handler = ({ json }) => {
    json(200, agent.services());
  };

  const lookup: Handler = async ({ req, res, params: { name = '' }, query, json }) => {
    // Every answer of this route carries the index, errors included.
    const indexHeader = { 'x-hearsay-index': String(agent.serviceIndex(name)) };
    const options = lookupOptions(query, indexHeader);
    const indexParam = query.get('index');
    if (indexParam !== null) {
      if (!/^\d{1,15}$/.test(indexParam)) {
        throw fail(400, 'HEARSAY_ERR_INVALID_REQUEST', `index ${JSON.stringify(indexParam)} must be the X-Hearsay-Index of an earlier answer`, indexHeader);
      }
      const waitParam = query.get('wait');
      const waitMs = waitParam === null ? DEFAULT_WAIT_MS : parseDuration(waitParam);
      if (waitMs === undefined || waitMs > MAX_WAIT_MS) {
        throw fail(400, 'HEARSAY_ERR_INVALID_REQUEST', `wait ${JSON.stringify(waitParam)} must be a duration up to 10m, e.g. "30s"`, indexHeader);
      }
      const seen = Number(indexParam);
      if (agent.serviceIndex(name) === seen && waitMs > 0) {
        await ctx.blocking.hold(
          () =>
            waitForIndex(agent, () => agent.serviceIndex(name), seen, waitMs, req, ctx.onClose, (event: AgentEvent) => event.type === 'service-change' && event.name === name && event.index !== seen),
          indexHeader,
        );
        if (res.destroyed) return;
      }
    }
    const result = agent.lookup(name, options);
    json(200, result, { 'x-hearsay-index': String(agent.serviceIndex(name)) });
  };

  const pick: Handler = ({ params: { name = '' }, query, json }) => {
    const strategy = query.get('strategy') ?? 'round-robin';
    if (strategy !== 'round-robin' && strategy !== 'random') throw fail(400, 'HEARSAY_ERR_INVALID_REQUEST', `strategy ${JSON.stringify(strategy)}: use round-robin or random`);
    const tags = query.getAll('tag').filter((x) => x !== '');
    const chosen = agent.pick(name, { tags, strategy });
    if (chosen === undefined) throw fail(404, API_ERROR_CODES.noInstance, `no passing instance of ${JSON.stringify(name)}${tags.length > 0 ? ` with tags ${tags.join(', ')}` : ''}`);
    json(200, chosen, { 'x-hearsay-index': String(agent.serviceIndex(name)) });
  };

  const localServices: Handler = ({ json }) => {
    const checks = agent.checks();
    json(
      200,
      agent.localServices().map((s) => ({
        ...s.record,
        node: agent.name,
        address: s.record.address === '' ? agent.address.host : s.record.address,
        ...(s.maintenance === undefined ? {} : { maintenance: s.maintenance }),
        checks: checks.filter((c) => c.serviceId === s.record.id),
      })),
    );
  };

  const checks: Handler = ({ query, json }) => {
    const node = query.get('node');
    json(200, node === null || node === agent.name ? agent.checks() : agent.nodeChecks(node));
  };

  const ttl: Handler = async ({ params: { id = '', action = '' }, query, body: readBody, json, caller }) => {
    requireCheck(caller, agent, id);
    const status = TTL_ACTIONS[action] as CheckStatus;
    let note = query.get('note') ?? '';
    const body = await readBody(false, '{"note": "queue depth 3"}');
    if (body !== undefined) {
      const n = (body as { note?: unknown } | null)?.note;
      if (typeof body !== 'object' || body === null || Array.isArray(body) || (n !== undefined && typeof n !== 'string') || Object.keys(body).some((k) => k !== 'note')) {
        throw fail(400, 'HEARSAY_ERR_INVALID_REQUEST', 'the body must be empty or {"note": "text"}');
      }
      if (typeof n === 'string') note = n;
    }
    agentCall(() => agent.updateCheck(id, status, note));
    json(200, agent.checks().find((c) => c.id === id) ?? { id, status });
  };

  const maintenance: Handler = async ({ query, body: readBody, json }) => {
    const body = await readBody(false, '{"enable": true, "serviceId": "billing-1", "reason": "upgrade"}');
    let enableRaw: unknown = query.get('enable') ?? undefined;
    let serviceId: unknown = query.get('service') ?? undefined;
    let reason: unknown = query.get('reason') ?? undefined;
    if (body !== undefined) {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw fail(400, 'HEARSAY_ERR_INVALID_REQUEST', 'the body must be {"enable": true, "serviceId"?: "...", "reason"?: "..."}');
      const b = body as Record<string, unknown>;
      const extra = Object.keys(b).filter((k) => !['enable', 'serviceId', 'reason'].includes(k));
      if (extra.length > 0) throw fail(400, 'HEARSAY_ERR_INVALID_REQUEST', `unknown field ${extra.map((k) => `"${k}"`).join(', ')}: the fields are enable, serviceId and reason`);
      enableRaw = b.enable ?? enableRaw;
      serviceId = b.serviceId ?? serviceId;
      reason = b.reason ?? reason;
    }
    const enable = enableRaw === true || enableRaw === 'true' ? true : enableRaw === false || enableRaw === 'false' ? false : undefined;
    if (enable === undefined) throw fail(400, 'HEARSAY_ERR_INVALID_REQUEST', 'say enable=true or enable=false (query) or {"enable": true} (body)');
    if (serviceId !== undefined && typeof serviceId !== 'string') throw fail(400, 'HEARSAY_ERR_INVALID_REQUEST', 'serviceId must be a string');
    if (reason !== undefined && (typeof reason !== 'string' || reason.length > 256)) throw fail(400, 'HEARSAY_ERR_INVALID_REQUEST', 'reason must be a string of at most 256 characters');
    agentCall(() => agent.setMaintenance(enable, { ...(serviceId === undefined ? {} : { serviceId }), ...(reason === undefined ? {} : { reason }) }));
    json(200, { maintenance: enable, ...(serviceId === undefined ? { node: agent.name } : { serviceId }) });
  };

  return [
    { method: 'PUT', path: '/v1/services', handler: register, access: 'service' },
    { method: 'GET', path: '/v1/services', handler: list },
    { method: 'DELETE', path: '/v1/services/:id', handler: deregister, access: 'service' },
    { method: 'GET', path: '/v1/services/:name', handler: lookup },
    { method: 'GET', path: '/v1/pick/:name', handler: pick },
    { method: 'GET', path: '/v1/registrations', handler: localServices },
    { method: 'GET', path: '/v1/checks', handler: checks },
    { method: 'PUT', path: '/v1/checks/:id/:action(pass|warn|fail)', handler: ttl, access: 'service' },
    { method: 'PUT', path: '/v1/maintenance', handler: maintenance },
  ];
}
