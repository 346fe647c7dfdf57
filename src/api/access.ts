/**
 * What a caller (tokens.ts) may do on each route. A route declares its `access` (router.ts):
 *
 *   read      every authenticated caller: lookups, members, events, metrics, this agent's registrations
 *   service   the handler names the service it touches (requireService): register, deregister, check updates
 *   operator  operator tokens only: keys, the CA, join, leave, maintenance, reload, force-leave, the log monitor
 *
 * A route that declares nothing is `read` for GET and `operator` for every other method, so a new
 * route that changes something is closed to scoped tokens until it says otherwise.
 */
import { servicesAllow } from '../identity/spiffe.js';
import { ApiError } from './errors.js';
import type { ApiCaller } from './tokens.js';

export type RouteAccess = 'read' | 'service' | 'operator';

export const FORBIDDEN_CODE = 'HEARSAY_ERR_FORBIDDEN';

export function accessOf(method: string, declared: RouteAccess | undefined): RouteAccess {
  return declared ?? (method === 'GET' ? 'read' : 'operator');
}

/** Throws 403 when `caller` may not use a route of this access. */
export function authorizeRoute(caller: ApiCaller, access: RouteAccess, method: string, route: string): void {
  if (access === 'operator' && !caller.operator) {
    throw new ApiError(403, FORBIDDEN_CODE, `${method} ${route} needs an operator token (the token "${caller.name}" is scoped to services ${caller.services.join(', ') || '(none: reads only)'}): send a token with "operator": true from the --api-tokens file, or the --http-token`);
  }
}

/** Throws 403 when `caller` may not `action` (register, deregister, update the checks of) the service `name`. */
export function requireService(caller: ApiCaller, name: string, action: string): void {
  if (caller.operator || servicesAllow(caller.services, name)) return;
  throw new ApiError(
    403,
    FORBIDDEN_CODE,
    `the token "${caller.name}" may not ${action} the service "${name}": it is scoped to ${caller.services.length === 0 ? 'no services (reads only)' : caller.services.join(', ')}; use a token whose "services" match ${JSON.stringify(name)}, or an operator token`,
  );
}

/** Throws 403 when `caller` may not register command checks (its token lacks "commandChecks": true). */
export function requireCommandChecks(caller: ApiCaller): void {
  if (caller.commandChecks) return;
  throw new ApiError(
    403,
    FORBIDDEN_CODE,
    `the token "${caller.name}" may not register command checks (they run a program as the agent's user): use a token with "commandChecks": true in the --api-tokens file, or an http, tcp or ttl check`,
  );
}

/** What the service checks read of the agent: its registrations and checks. */
export interface LocalRegistrations {
  localServices(): readonly { readonly record: { readonly id: string; readonly name: string } }[];
  checks(): readonly { readonly id: string; readonly serviceId: string }[];
}

/** requireService for the instance `id` of this agent (an unknown id passes: the route answers 404). */
export function requireInstance(caller: ApiCaller, agent: LocalRegistrations, id: string, action: string): void {
  if (caller.operator) return;
  const name = agent.localServices().find((s) => s.record.id === id)?.record.name;
  if (name !== undefined) requireService(caller, name, action);
}

/** requireService for the service whose check is `checkId` (an unknown check passes: the route answers 404). */
export function requireCheck(caller: ApiCaller, agent: LocalRegistrations, checkId: string): void {
  if (caller.operator) return;
  const check = agent.checks().find((c) => c.id === checkId);
  if (check !== undefined) requireInstance(caller, agent, check.serviceId, 'update the checks of');
}

/** The scope checks of a registration: its service name, and command checks. */
export function requireRegistration(caller: ApiCaller, definition: object, hasCommandCheck: boolean): void {
  const name = (definition as { name?: unknown }).name;
  requireService(caller, typeof name === 'string' ? name : String(name), 'register');
  if (hasCommandCheck) requireCommandChecks(caller);
}
