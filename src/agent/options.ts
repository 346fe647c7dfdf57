/**
 * createAgent()'s options checked together: every problem (agent, membership, security, limits)
 * reported at once in one InvalidOptionsError, defaults taken from defaults.ts.
 */
import type { Logger } from 'pino';
import { InvalidOptionsError } from '../errors.js';
import type { SecureTransportOptions } from '../security/secure-transport.js';
import type { Address } from '../wire/messages.js';
import { resolveOptions, type ResolvedOptions } from '../membership/options.js';
import { resolveSecurity, type ResolvedSecurity } from '../security/options.js';
import { DEFAULT_DECODE_LIMITS } from '../wire/limits.js';
import { DEFAULT_STATE_LIMITS } from '../state/types.js';
import { AGENT_DEFAULTS } from './defaults.js';
import type { AgentOptions } from './types.js';

export interface ResolvedAgentOptions {
  /** The membership options the core runs with: the datagram and stream budgets less the envelope. */
  readonly membership: ResolvedOptions;
  /** The stream budget before the envelope is taken off (what the transport reads). */
  readonly maxStreamBytes: number;
  readonly security: ResolvedSecurity;
}

/** Throws InvalidOptionsError listing every problem. */
export function resolveAgentOptions(options: AgentOptions): ResolvedAgentOptions {
  const problems = agentProblems(options);
  let membership: ResolvedOptions | null = null;
  try {
    membership = resolveOptions(options.membership ?? {}, options.profile ?? AGENT_DEFAULTS.profile);
  } catch (err) {
    if (err instanceof InvalidOptionsError) problems.push(...err.problems);
    else throw err;
  }
  const security = membership === null ? null : resolveSecurity(options.security, options.limits, membership, problems);
  if (problems.length > 0 || membership === null || security === null) throw new InvalidOptionsError(problems);
  // The datagram and stream budgets cover the envelope (label, nonce, tag): the core packs into the rest.
  const overhead = security.envelope.overheadBytes;
  const core =
    overhead === 0
      ? membership
      : Object.freeze({ ...membership, maxPacketBytes: membership.maxPacketBytes - overhead, maxStreamBytes: membership.maxStreamBytes - overhead });
  return { membership: core, maxStreamBytes: membership.maxStreamBytes, security };
}

function agentProblems(o: AgentOptions): string[] {
  const problems: string[] = [];
  const positive = (key: keyof AgentOptions, v: unknown): void => {
    if (v !== undefined && !(Number.isInteger(v) && (v as number) > 0)) {
      problems.push(`${key} must be a positive integer number of milliseconds (got ${JSON.stringify(v)})`);
    }
  };
  positive('tcpConnectTimeoutMs', o.tcpConnectTimeoutMs);
  positive('tcpReadTimeoutMs', o.tcpReadTimeoutMs);
  positive('snapshotIntervalMs', o.snapshotIntervalMs);
  positive('udpWarningIntervalMs', o.udpWarningIntervalMs);
  positive('serviceUpdateIntervalMs', o.serviceUpdateIntervalMs);
  const within = (key: 'maxInstancesPerNode' | 'maxInstanceBytes', v: unknown, lo: number, hi: number): void => {
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi)) problems.push(`${key} must be an integer from ${lo} to ${hi} (got ${JSON.stringify(v)})`);
  };
  within('maxInstancesPerNode', o.maxInstancesPerNode, 1, DEFAULT_STATE_LIMITS.maxEntries / 2); // an instance and its status entry
  within('maxInstanceBytes', o.maxInstanceBytes, 64, DEFAULT_STATE_LIMITS.maxEntryBytes);
  if (o.autoRejoinDelayMs !== undefined && !(Number.isInteger(o.autoRejoinDelayMs) && o.autoRejoinDelayMs >= 0)) {
    problems.push(`autoRejoinDelayMs must be a non-negative integer number of milliseconds (got ${JSON.stringify(o.autoRejoinDelayMs)})`);
  }
  const maxName = DEFAULT_DECODE_LIMITS.maxNameBytes;
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name.length === 0 || Buffer.byteLength(o.name) > maxName)) {
    problems.push(`name must be a non-empty string of at most ${maxName} bytes in UTF-8 (got ${JSON.stringify(o.name)})`);
  }
  for (const [key, a] of [['bind', o.bind], ['advertise', o.advertise]] as const) {
    if (a === undefined) continue;
    if (typeof a.host !== 'string' || a.host.length === 0 || !Number.isInteger(a.port) || a.port < 0 || a.port > 65_535) {
      problems.push(`${key} must be {host, port} with a port in 0..65535 (got ${JSON.stringify(a)})`);
    }
  }
  if (o.dataDir !== undefined && (typeof o.dataDir !== 'string' || o.dataDir.length === 0)) {
    problems.push('dataDir must be a non-empty path');
  }
  return problems;
}

/** The socket options an agent's transport runs with. */
export function transportOptions(options: AgentOptions, resolved: ResolvedAgentOptions, bind: Address, logger: Logger, isPeer: (host: string) => boolean): SecureTransportOptions {
  const { security } = resolved;
  return {
    bind,
    connectTimeoutMs: options.tcpConnectTimeoutMs ?? AGENT_DEFAULTS.tcpConnectTimeoutMs,
    readTimeoutMs: options.tcpReadTimeoutMs ?? AGENT_DEFAULTS.tcpReadTimeoutMs,
    maxStreamBytes: resolved.maxStreamBytes,
    logger,
    envelope: security.envelope,
    maxDatagramBytes: security.maxDatagramBytes,
    maxInboundConnections: security.maxInboundConnections,
    maxOutboundConnections: security.maxOutboundConnections,
    maxConnectionBytes: security.maxConnectionBytes,
    inbound: {
      maxInboundPerSource: security.maxInboundPerSource,
      peerReservedConnections: security.peerReservedConnections,
      headerTimeoutMs: security.streamHeaderTimeoutMs,
      idleTimeoutMs: security.streamIdleTimeoutMs,
      isPeer,
    },
  };
}
