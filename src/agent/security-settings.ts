/**
 * The security part of `hearsay agent`'s configuration (agent/config.ts calls this): --key,
 * --keyring-file, --label, --encrypt-transition, --http-token, and the "limits" object of the
 * config file. Every problem names where the value came from and what to write instead.
 */
import { isLoopbackHost } from '../transport/address.js';
import type { Address } from '../wire/messages.js';
import { MAX_LABEL_BYTES, TRANSITION_MODES, type TransitionMode } from '../security/envelope.js';
import { parseKey } from '../security/keyring.js';
import { MIN_TOKEN_LENGTH, type AgentLimits, type AgentSecurityOptions } from '../security/options.js';
import { DNS_LIMIT_RANGES, type DnsLimit } from '../dns/server.js';

/** The security settings as one source wrote them, each with a label naming its origin. */
export interface SecurityInputs {
  readonly key?: { readonly value: string; readonly label: string };
  readonly keyringFile?: { readonly value: string; readonly label: string };
  readonly label?: { readonly value: string; readonly label: string };
  readonly encryptTransition?: { readonly value: string; readonly label: string };
  readonly httpToken?: { readonly value: string; readonly label: string };
}

/** Limits read from the config file's "limits" object (agent limits and HTTP limits). */
export interface ConfigLimits extends AgentLimits {
  /** Largest HTTP request body, in bytes. @default 65536 */
  readonly httpMaxBodyBytes?: number;
  /** Sustained HTTP request rate per second per caller (connection), bursts to twice it. @default 10000 */
  readonly httpMaxRequestsPerSecond?: number;
  /** Most HTTP connections open at once. @default a quarter of the open-file limit, at most 1024 */
  readonly httpMaxConnections?: number;
  /** Time a connection has to send a complete request head, in ms. @default 10000 */
  readonly httpHeaderTimeoutMs?: number;
  /** TCP connect timeout for push-pulls, stream probes and key operations, in ms. @default 5000 */
  readonly tcpConnectTimeoutMs?: number;
  /** TCP read timeout (a whole message must arrive within it), in ms. @default 10000 */
  readonly tcpReadTimeoutMs?: number;
  /** The DNS server's limits (dns/server.ts DnsServerOptions, defaults in DNS_DEFAULTS): most TCP connections. @default 128 */
  readonly dnsMaxTcpConnections?: number;
  /** Most DNS TCP connections from one address. @default 8 */
  readonly dnsMaxTcpPerSource?: number;
  /** Time a DNS TCP connection has to send a complete query, in ms. @default 2000 */
  readonly dnsTcpHeaderTimeoutMs?: number;
  /** A DNS TCP connection idle this long is closed, in ms. @default 10000 */
  readonly dnsTcpIdleTimeoutMs?: number;
  /** Answers waiting to be sent on one DNS TCP connection before it is no longer read. @default 16 */
  readonly dnsTcpMaxQueuedAnswers?: number;
  /** Bytes waiting to be sent on one DNS TCP connection before it is no longer read. @default 65536 */
  readonly dnsTcpMaxQueuedBytes?: number;
  /** A DNS UDP response is at most this many times its query's size. @default 10 */
  readonly dnsMaxUdpAmplification?: number;
  /** Most service instances this agent registers (AgentOptions.maxInstancesPerNode). @default 1000 */
  readonly maxInstancesPerNode?: number;
  /** Most bytes of one instance in the node's state (AgentOptions.maxInstanceBytes). @default 4096 */
  readonly maxInstanceBytes?: number;
}

const LIMIT_KEYS: readonly (keyof ConfigLimits)[] = [
  'maxDatagramBytes',
  'maxInboundConnections',
  'maxOutboundConnections',
  'maxConnectionBytes',
  'maxInboundPerSource',
  'peerReservedConnections',
  'streamHeaderTimeoutMs',
  'streamIdleTimeoutMs',
  'httpMaxBodyBytes',
  'httpMaxRequestsPerSecond',
  'httpMaxConnections',
  'httpHeaderTimeoutMs',
  'tcpConnectTimeoutMs',
  'tcpReadTimeoutMs',
  'dnsMaxTcpConnections',
  'dnsMaxTcpPerSource',
  'dnsTcpHeaderTimeoutMs',
  'dnsTcpIdleTimeoutMs',
  'dnsTcpMaxQueuedAnswers',
  'dnsTcpMaxQueuedBytes',
  'dnsMaxUdpAmplification',
  'maxInstancesPerNode',
  'maxInstanceBytes',
];

export interface ResolvedSecuritySettings {
  readonly security: AgentSecurityOptions;
  readonly httpToken?: string;
}

/** `scopedTokens`: the API also has a tokens file (--api-tokens), which authenticates callers beyond loopback as --http-token does. */
export function resolveSecuritySettings(inputs: SecurityInputs, http: Address, problems: string[], scopedTokens = false): ResolvedSecuritySettings {
  const security: { keys?: string[]; keyringFile?: string; label?: string; transition?: TransitionMode } = {};
  if (inputs.key !== undefined) {
    try {
      parseKey(inputs.key.value, inputs.key.label);
      security.keys = [inputs.key.value.trim()];
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (inputs.keyringFile !== undefined) {
    if (inputs.keyringFile.value.trim() === '' || inputs.keyringFile.value.includes('\0')) problems.push(`${inputs.keyringFile.label} is not a usable file path`);
    else security.keyringFile = inputs.keyringFile.value;
  }
  if (inputs.label !== undefined) {
    const v = inputs.label.value;
    if (Buffer.byteLength(v) > MAX_LABEL_BYTES) problems.push(`${inputs.label.label} is longer than ${MAX_LABEL_BYTES} bytes: use a short cluster name, e.g. --label prod-eu`);
    else security.label = v;
  }
  if (inputs.encryptTransition !== undefined) {
    const v = inputs.encryptTransition.value;
    if ((TRANSITION_MODES as readonly string[]).includes(v)) security.transition = v as TransitionMode;
    else problems.push(`${inputs.encryptTransition.label} is not a transition step: use send-plaintext (step 1 of a rollout), accept-plaintext (step 2) or off`);
  }
  if (security.transition !== undefined && security.transition !== 'off' && security.keys === undefined && security.keyringFile === undefined) {
    problems.push(`${inputs.encryptTransition?.label ?? '--encrypt-transition'} needs a key: also give --key KEY or --keyring-file FILE`);
  }
  let httpToken: string | undefined;
  if (inputs.httpToken !== undefined) {
    const v = inputs.httpToken.value;
    if (v.length < MIN_TOKEN_LENGTH || /\s/.test(v)) {
      problems.push(`${inputs.httpToken.label} must be at least ${MIN_TOKEN_LENGTH} characters without spaces: make one with \`openssl rand -hex 32\``);
    } else httpToken = v;
  }
  if (httpToken === undefined && !scopedTokens && !isLoopbackHost(http.host)) {
    problems.push(
      `the HTTP API would listen on ${http.host}:${http.port}, beyond loopback, without authentication: ` +
        'set --http-token TOKEN (or HEARSAY_HTTP_TOKEN; clients send "Authorization: Bearer TOKEN") or --api-tokens FILE, or keep --http on 127.0.0.1',
    );
  }
  return { security, ...(httpToken === undefined ? {} : { httpToken }) };
}

/** Validates the config file's "limits" object; `where` is "in FILE". */
export function parseConfigLimits(value: unknown, where: string, problems: string[]): ConfigLimits {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`"limits" ${where} must be an object, e.g. {"maxInboundConnections": 128}`);
    return {};
  }
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(value)) {
    if (!(LIMIT_KEYS as readonly string[]).includes(k)) {
      problems.push(`unknown key "limits.${k}" ${where}: known limits are ${LIMIT_KEYS.join(', ')}`);
      continue;
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < (k === 'peerReservedConnections' ? 0 : 1)) {
      problems.push(`"limits.${k}" ${where} must be a positive integer (got ${JSON.stringify(v)})`);
      continue;
    }
    const range = k.startsWith('dns') ? DNS_LIMIT_RANGES[dnsLimitOf(k as DnsConfigLimit)] : undefined;
    if (range !== undefined && (v < range[0] || v > range[1])) {
      problems.push(`"limits.${k}" ${where} must be an integer in [${range[0]}, ${range[1]}] (got ${v})`);
      continue;
    }
    out[k] = v;
  }
  return out as ConfigLimits;
}

/** The config file's names of the DNS server's limits. */
export type DnsConfigLimit = Extract<keyof ConfigLimits, `dns${string}`>;

/** The DNS server option a limits.dns* key sets: dnsMaxTcpPerSource is maxTcpPerSource. */
export function dnsLimitOf(key: DnsConfigLimit): DnsLimit {
  return `${key.charAt(3).toLowerCase()}${key.slice(4)}` as DnsLimit;
}
