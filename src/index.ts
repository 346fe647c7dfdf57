/**
 * hearsay's public API: the agent, its types and options, the service registry's types, the DNS
 * server, the errors it throws, the membership option profiles, and node identities (certificates).
 */
export { createAgent } from './agent/agent.js';
export { AGENT_DEFAULTS, DEFAULT_PORT } from './agent/defaults.js';
export type {
  Agent,
  AgentCounters,
  AgentEvent,
  AgentHistograms,
  AgentOptions,
  AgentState,
  JoinOptions,
  LeaveOptions,
  MemberInfo,
} from './agent/types.js';
export type { PickOptions, WatchOptions, ServiceEvent } from './agent/services.js';
export type {
  HealthStatus,
  LookupOptions,
  ServiceInstance,
  ServiceSummary,
  ServiceWatchUpdate,
} from './registry/types.js';
export type { CheckDefinition, CheckInfo, CheckStatus, Duration, LocalService, ServiceDefinition } from './registry/local.js';
export type { PickStrategy } from './registry/pickers.js';
export type { LogDestination, Logger, LogFn } from './log/logger.js';
export { createDnsServer } from './dns/server.js';
export type { DnsServer, DnsServerOptions } from './dns/server.js';
export type { DnsOutcome, DnsProtocol, DnsQueryHook, DnsQueryType } from './dns/metrics.js';
export type { HistogramSnapshot } from './util/histogram.js';
export type { MemberView, MembershipEvent, MembershipEventType } from './membership/types.js';
export type { Address, MemberStatus, MemberState } from './wire/messages.js';
export { resolveOptions, PROFILES, LAN, isProfileName } from './membership/options.js';
export type { MembershipOptions, ProfileName, ResolvedOptions } from './membership/options.js';
export { parseHostPort, formatHostPort } from './transport/address.js';
export type { ParsedHostPort, HostPortOptions } from './transport/address.js';
export { BindError } from './transport/errors.js';
export {
  HearsayError,
  InvalidOptionsError,
  StateTooLargeError,
  NotRunningError,
  JoinError,
  AgentClosedError,
  NotStartedError,
  InvalidAddressError,
  DataDirError,
  InvalidServiceError,
  ServiceTooLargeError,
  ServiceLimitError,
  StateLimitError,
  UnknownServiceError,
  UnknownMemberError,
  MemberAliveError,
  ServiceNotAllowedError,
} from './errors.js';
export { loadIdentity, checkIdentity, IdentityError } from './identity/identity.js';
export type { NodeIdentity, IdentityFiles, IdentityMaterial, IdentityProblem } from './identity/identity.js';
export type { RevocationList, RevokedEntry } from './identity/revocations.js';
export type { RevocationAdoption } from './agent/revocations.js';
export type { SeedFailure } from './errors.js';
