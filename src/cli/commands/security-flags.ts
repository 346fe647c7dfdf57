/**
 * The security flags of `hearsay agent` and how they reach the agent and its HTTP API
 * (kept apart from agent.ts so that the agent command changes by a few lines only).
 */
import type { AgentConfig } from '../../agent/config.js';
import type { KeyOps } from '../../api/context.js';
import type { Agent } from '../../agent/types.js';
import type { AgentLimits } from '../../security/options.js';
import type { DnsLimit } from '../../dns/server.js';
import { dnsLimitOf, type DnsConfigLimit } from '../../agent/security-settings.js';

export const securityFlags = {
  key: {
    type: 'string',
    placeholder: 'KEY',
    description:
      'AES-256 key (base64, from `hearsay keygen`): encrypt and authenticate all gossip; prefer $HEARSAY_KEY or --keyring-file, since flags show in ps',
  },
  'keyring-file': {
    type: 'string',
    placeholder: 'FILE',
    description: 'JSON keyring (base64 keys, the primary first), rewritten after every `hearsay keys` change ($HEARSAY_KEYRING_FILE)',
  },
  label: {
    type: 'string',
    placeholder: 'NAME',
    description: 'cluster label: packets of meshes with another label are dropped, encrypted or not ($HEARSAY_LABEL)',
  },
  'encrypt-transition': {
    type: 'string',
    placeholder: 'STEP',
    description: 'rolling encryption out: send-plaintext (step 1), accept-plaintext (step 2), off (default; $HEARSAY_ENCRYPT_TRANSITION)',
  },
  'http-token': {
    type: 'string',
    placeholder: 'TOKEN',
    description: 'bearer token the HTTP API requires, an operator token; mandatory when --http is not loopback without --api-tokens ($HEARSAY_HTTP_TOKEN)',
  },
  'api-tokens': {
    type: 'string',
    placeholder: 'FILE',
    description: 'JSON file of HTTP API tokens scoped to service patterns, operator or command checks; reread on SIGHUP and when it changes ($HEARSAY_API_TOKENS)',
  },
  ca: { type: 'string', placeholder: 'FILE', description: 'the CA certificate (PEM) node certificates are checked against ($HEARSAY_CA)' },
  cert: { type: 'string', placeholder: 'FILE', description: "this node's certificate (PEM, from `hearsay ca issue` or openssl); reread on SIGHUP and when it changes ($HEARSAY_CERT)" },
  'cert-key': { type: 'string', placeholder: 'FILE', description: "this node's private key (PEM) ($HEARSAY_CERT_KEY)" },
  revocations: { type: 'string', placeholder: 'FILE', description: "the CA's revocation list (`hearsay ca revoke`): a revoked certificate is refused ($HEARSAY_REVOCATIONS)" },
  'identity-transition': {
    type: 'string',
    placeholder: 'STEP',
    description: 'rolling signed records out (with --ca): send-unsigned (step 1), accept-unsigned (step 2), off (default: unsigned records dropped; $HEARSAY_IDENTITY_TRANSITION)',
  },
} as const;

interface SecurityFlagValues {
  readonly key?: string | undefined;
  readonly 'keyring-file'?: string | undefined;
  readonly label?: string | undefined;
  readonly 'encrypt-transition'?: string | undefined;
  readonly 'http-token'?: string | undefined;
  readonly 'api-tokens'?: string | undefined;
  readonly ca?: string | undefined;
  readonly cert?: string | undefined;
  readonly 'cert-key'?: string | undefined;
  readonly revocations?: string | undefined;
  readonly 'identity-transition'?: string | undefined;
}

export function securitySettingsFromFlags(values: SecurityFlagValues): {
  key?: string;
  keyringFile?: string;
  label?: string;
  encryptTransition?: string;
  httpToken?: string;
  apiTokens?: string;
  ca?: string;
  cert?: string;
  certKey?: string;
  revocations?: string;
  identityTransition?: string;
} {
  return {
    ...(values.key === undefined ? {} : { key: values.key }),
    ...(values['keyring-file'] === undefined ? {} : { keyringFile: values['keyring-file'] }),
    ...(values.label === undefined ? {} : { label: values.label }),
    ...(values['encrypt-transition'] === undefined ? {} : { encryptTransition: values['encrypt-transition'] }),
    ...(values['http-token'] === undefined ? {} : { httpToken: values['http-token'] }),
    ...(values['api-tokens'] === undefined ? {} : { apiTokens: values['api-tokens'] }),
    ...(values.ca === undefined ? {} : { ca: values.ca }),
    ...(values.cert === undefined ? {} : { cert: values.cert }),
    ...(values['cert-key'] === undefined ? {} : { certKey: values['cert-key'] }),
    ...(values.revocations === undefined ? {} : { revocations: values.revocations }),
    ...(values['identity-transition'] === undefined ? {} : { identityTransition: values['identity-transition'] }),
  };
}

/** The agent's share of the config file's limits: its `limits` and its TCP timeouts. */
export function agentLimits(limits: AgentConfig['limits']): {
  limits: AgentLimits;
  tcpConnectTimeoutMs?: number;
  tcpReadTimeoutMs?: number;
  maxInstancesPerNode?: number;
  maxInstanceBytes?: number;
} {
  const {
    httpMaxBodyBytes: _b,
    httpMaxRequestsPerSecond: _r,
    httpMaxConnections: _c,
    httpHeaderTimeoutMs: _h,
    dnsMaxTcpConnections: _d1,
    dnsMaxTcpPerSource: _d2,
    dnsTcpHeaderTimeoutMs: _d3,
    dnsTcpIdleTimeoutMs: _d4,
    dnsTcpMaxQueuedAnswers: _d5,
    dnsTcpMaxQueuedBytes: _d6,
    dnsMaxUdpAmplification: _d7,
    tcpConnectTimeoutMs,
    tcpReadTimeoutMs,
    maxInstancesPerNode,
    maxInstanceBytes,
    ...agent
  } = limits;
  return {
    limits: agent,
    ...(maxInstancesPerNode === undefined ? {} : { maxInstancesPerNode }),
    ...(maxInstanceBytes === undefined ? {} : { maxInstanceBytes }),
    ...(tcpConnectTimeoutMs === undefined ? {} : { tcpConnectTimeoutMs }),
    ...(tcpReadTimeoutMs === undefined ? {} : { tcpReadTimeoutMs }),
  };
}

/** The HTTP server options that come from the security settings. */
export function httpSecurityOptions(
  config: AgentConfig,
  agent: Agent,
): { token?: string; keys?: KeyOps; maxBodyBytes?: number; maxRequestsPerSecond?: number; maxConnections?: number; headerTimeoutMs?: number } {
  const keys = (agent as Partial<{ keyManager: KeyOps & { keyring: unknown } }>).keyManager;
  return {
    ...(config.httpToken === undefined ? {} : { token: config.httpToken }),
    ...(keys === undefined || keys.keyring === null ? {} : { keys }),
    ...(config.limits.httpMaxBodyBytes === undefined ? {} : { maxBodyBytes: config.limits.httpMaxBodyBytes }),
    ...(config.limits.httpMaxRequestsPerSecond === undefined ? {} : { maxRequestsPerSecond: config.limits.httpMaxRequestsPerSecond }),
    ...(config.limits.httpMaxConnections === undefined ? {} : { maxConnections: config.limits.httpMaxConnections }),
    ...(config.limits.httpHeaderTimeoutMs === undefined ? {} : { headerTimeoutMs: config.limits.httpHeaderTimeoutMs }),
  };
}

/** The DNS server's limits from the config file's "limits" object (the dns* keys). */
export function dnsLimitOptions(limits: AgentConfig['limits']): Partial<Record<DnsLimit, number>> {
  const out: Partial<Record<DnsLimit, number>> = {};
  for (const [k, v] of Object.entries(limits)) if (k.startsWith('dns') && typeof v === 'number') out[dnsLimitOf(k as DnsConfigLimit)] = v;
  return out;
}
