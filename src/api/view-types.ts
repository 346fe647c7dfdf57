// The types below reach agent modules written against Node's types; ui/tsconfig.json has no
// "types" of its own (the view runs in a browser), and pino's declarations used to pull Node's in.
/// <reference types="node" />
/**
 * The JSON the web view (ui/) reads from the public API, as types: the view's JavaScript imports
 * these in its JSDoc (checked by `tsc -p ui/tsconfig.json`), so a change of an answer's shape here
 * fails the view's typecheck rather than the page.
 */
import type { MemberInfo } from '../agent/types.js';
import type { CheckInfo } from '../registry/local.js';
import type { LocalInstanceRecord, ServiceInstance, ServiceSummary } from '../registry/types.js';
import type { AgentHealthSample } from './health.js';

export type { AgentHealthSample, CheckInfo, MemberInfo, ServiceInstance, ServiceSummary };

/** GET /v1/members?detailed: a member with since when it has its status (ISO 8601). */
export interface DetailedMemberInfo extends MemberInfo {
  readonly statusSince: string;
}

/** GET /v1/registrations: this agent's registrations with their checks. */
export interface RegistrationInfo extends LocalInstanceRecord {
  readonly node: string;
  readonly maintenance?: string;
  readonly checks: readonly CheckInfo[];
}

/** GET /v1/agent/self: the part the view reads (hearsay's own description under `Hearsay`). */
export interface AgentSelfInfo {
  readonly Hearsay: { readonly name: string; readonly version: string; readonly addr: string; readonly port: number; readonly profile?: string };
}

/** The `data` of each GET /v1/events message the view handles, by event name. */
export interface EventData {
  readonly 'member-join': { readonly member: MemberInfo };
  readonly 'member-update': { readonly member: MemberInfo };
  readonly 'member-suspect': { readonly member: MemberInfo; readonly from: string };
  readonly 'member-alive': { readonly member: MemberInfo };
  readonly 'member-dead': { readonly member: MemberInfo; readonly from: string };
  readonly 'member-leave': { readonly member: MemberInfo };
  readonly 'member-reap': { readonly member: MemberInfo };
  readonly 'member-conflict': { readonly name: string; readonly incarnation: number; readonly lost?: true };
  readonly 'self-refute': { readonly incarnation: number; readonly accusedBy: string };
  readonly 'push-pull-complete': { readonly peer: { readonly host: string; readonly port: number }; readonly join: boolean; readonly members: number };
  readonly 'leave-disseminated': Record<string, never>;
  readonly 'service-change': { readonly name: string; readonly index: number; readonly instances: number; readonly passing: number };
  readonly 'check-update': { readonly check: string; readonly serviceId: string; readonly status: CheckInfo['status']; readonly output: string };
  readonly 'instance-checks': { readonly node: string; readonly serviceId: string; readonly checks: readonly CheckInfo[] | null };
  readonly 'service-deregistered-critical': { readonly serviceId: string; readonly check: string };
  readonly 'agent-health': AgentHealthSample;
}
