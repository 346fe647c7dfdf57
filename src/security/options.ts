/**
 * The agent's security and limit options, validated and turned into an Envelope and a Keyring.
 */
import { existsSync } from 'node:fs';
import type { HearsayError } from '../errors.js';
import { Envelope, ENCRYPTION_OVERHEAD_BYTES, MAX_LABEL_BYTES, TRANSITION_MODES, type TransitionMode } from './envelope.js';
import { Keyring, parseKey, readKeyringFile } from './keyring.js';

/** Shortest bearer token the HTTP API accepts. */
export const MIN_TOKEN_LENGTH = 16;

export interface AgentSecurityOptions {
  /**
   * AES-256 keys, base64 of 32 bytes (`hearsay keygen`); the first is the primary (it encrypts),
   * every one may decrypt. With a keyring file, these are installed beside its keys.
   * @default none: no encryption
   */
  readonly keys?: readonly string[];
  /**
   * A JSON file holding the keyring (an array of base64 keys, the primary first), read at start
   * and rewritten after every key operation, so rotations survive restarts. Created from `keys`
   * when it does not exist.
   */
  readonly keyringFile?: string;
  /**
   * Cluster label: sent with every packet, authenticated as associated data when encrypted and
   * compared on plaintext too; packets with another label (or none) are dropped. At most 255 bytes.
   * @default '' (no label)
   */
  readonly label?: string;
  /** Encryption rollout step (envelope.ts). @default 'off' (encrypted only, when keys are given) */
  readonly transition?: TransitionMode;
}

export interface AgentLimits {
  /**
   * Largest datagram accepted, in bytes (envelope included); larger ones are dropped and counted
   * (security.dropped.datagram-too-large). Keep it at least every node's maxPacketBytes + 29 +
   * the label's length + 2.
   * @default 16384
   */
  readonly maxDatagramBytes?: number;
  /**
   * Most inbound TCP connections open at once (push-pulls, stream probes and key operations);
   * more are closed at once and counted (transport.dropped.connection-limit).
   * @default 128
   */
  readonly maxInboundConnections?: number;
  /**
   * Most outbound TCP connections open at once (push-pulls this node starts, stream probes, key
   * operations); more fail at once and are counted (transport.dropped.dial-limit).
   * @default 128
   */
  readonly maxOutboundConnections?: number;
  /**
   * Most bytes read on one inbound TCP connection; beyond it the connection is cut and counted
   * (transport.dropped.connection-bytes).
   * @default maxStreamBytes + 1 MiB
   */
  readonly maxConnectionBytes?: number;
  /**
   * Most inbound TCP connections at once from one source address that is not a member's; more are
   * closed at once and counted (transport.dropped.source-limit), so a few misbehaving sources cannot
   * hold every slot. (Members are not capped: a local cluster runs every agent on one address.)
   * @default 16
   */
  readonly maxInboundPerSource?: number;
  /**
   * Inbound TCP slots kept for sources that are members of the mesh: connections from other
   * sources are refused (transport.dropped.connection-limit) once only these are left.
   * @default a quarter of maxInboundConnections
   */
  readonly peerReservedConnections?: number;
  /** An inbound TCP connection must send its first frame header within this long, in ms. @default 2000 */
  readonly streamHeaderTimeoutMs?: number;
  /** An inbound TCP connection that sends nothing for this long is cut, in ms. @default 5000 */
  readonly streamIdleTimeoutMs?: number;
}

export const LIMIT_DEFAULTS = Object.freeze({
  maxDatagramBytes: 16 * 1024,
  maxInboundConnections: 128,
  maxOutboundConnections: 128,
  connectionBytesOverStream: 1024 * 1024,
  maxInboundPerSource: 16,
  streamHeaderTimeoutMs: 2000,
  streamIdleTimeoutMs: 5000,
});

export interface ResolvedSecurity {
  readonly envelope: Envelope;
  readonly keyring: Keyring | null;
  readonly keyringFile?: string;
  /** The keyring file did not exist: write it at start. */
  readonly createFile: boolean;
  readonly maxDatagramBytes: number;
  readonly maxInboundConnections: number;
  readonly maxOutboundConnections: number;
  readonly maxConnectionBytes: number;
  readonly maxInboundPerSource: number;
  readonly peerReservedConnections: number;
  readonly streamHeaderTimeoutMs: number;
  readonly streamIdleTimeoutMs: number;
}

/**
 * Validates the options, pushing each problem onto `problems` (null is returned then). Reads the
 * keyring file if there is one.
 */
export function resolveSecurity(
  security: AgentSecurityOptions | undefined,
  limits: AgentLimits | undefined,
  membership: { readonly maxPacketBytes: number; readonly maxStreamBytes: number },
  problems: string[],
): ResolvedSecurity | null {
  const start = problems.length;
  const s = security ?? {};
  const label = s.label ?? '';
  if (typeof label !== 'string' || Buffer.byteLength(label) > MAX_LABEL_BYTES) {
    problems.push(`security.label must be a string of at most ${MAX_LABEL_BYTES} bytes (got ${JSON.stringify(label)})`);
  }
  const transition = s.transition ?? 'off';
  if (!TRANSITION_MODES.includes(transition)) {
    problems.push(`security.transition must be one of ${TRANSITION_MODES.join(', ')} (got ${JSON.stringify(transition)})`);
  }
  const keys: Buffer[] = [];
  for (const [i, k] of (s.keys ?? []).entries()) {
    try {
      keys.push(parseKey(k, `security.keys[${i}]`));
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  let keyring: Keyring | null = null;
  let createFile = false;
  if (s.keyringFile !== undefined) {
    if (existsSync(s.keyringFile)) {
      try {
        keyring = readKeyringFile(s.keyringFile);
        for (const k of keys) keyring.install(k);
      } catch (err) {
        problems.push((err as HearsayError).message);
      }
    } else if (keys.length > 0) {
      createFile = true;
    } else {
      problems.push(
        `keyring file ${s.keyringFile} does not exist: create it with \`hearsay keygen --keyring-file ${s.keyringFile}\` or also give a key (--key) to start it with`,
      );
    }
  }
  if (keyring === null && keys.length > 0 && problems.length === start) keyring = new Keyring(keys);
  if (transition !== 'off' && keyring === null && problems.length === start) {
    problems.push(`security.transition "${transition}" needs a key: give --key or --keyring-file, or drop the transition setting`);
  }

  const l = limits ?? {};
  const labelOverhead = label.length === 0 ? 0 : Buffer.byteLength(label) + 2;
  const minDatagram = membership.maxPacketBytes + ENCRYPTION_OVERHEAD_BYTES + labelOverhead;
  const maxDatagramBytes = l.maxDatagramBytes ?? Math.max(LIMIT_DEFAULTS.maxDatagramBytes, minDatagram);
  if (!Number.isInteger(maxDatagramBytes) || maxDatagramBytes < minDatagram || maxDatagramBytes > 65_535) {
    problems.push(`limits.maxDatagramBytes must be an integer in [${minDatagram} (maxPacketBytes + envelope), 65535] (got ${JSON.stringify(maxDatagramBytes)})`);
  }
  const maxInboundConnections = l.maxInboundConnections ?? LIMIT_DEFAULTS.maxInboundConnections;
  if (!Number.isInteger(maxInboundConnections) || maxInboundConnections < 1 || maxInboundConnections > 100_000) {
    problems.push(`limits.maxInboundConnections must be an integer in [1, 100000] (got ${JSON.stringify(maxInboundConnections)})`);
  }
  const maxOutboundConnections = l.maxOutboundConnections ?? LIMIT_DEFAULTS.maxOutboundConnections;
  if (!Number.isInteger(maxOutboundConnections) || maxOutboundConnections < 1 || maxOutboundConnections > 100_000) {
    problems.push(`limits.maxOutboundConnections must be an integer in [1, 100000] (got ${JSON.stringify(maxOutboundConnections)})`);
  }
  const maxConnectionBytes = l.maxConnectionBytes ?? membership.maxStreamBytes + LIMIT_DEFAULTS.connectionBytesOverStream;
  if (!Number.isInteger(maxConnectionBytes) || maxConnectionBytes < membership.maxStreamBytes + 4) {
    problems.push(`limits.maxConnectionBytes must be an integer of at least maxStreamBytes + 4 (${membership.maxStreamBytes + 4}) (got ${JSON.stringify(maxConnectionBytes)})`);
  }
  const int = (key: keyof AgentLimits, value: number, min: number, max: number): number => {
    if (!Number.isInteger(value) || value < min || value > max) problems.push(`limits.${key} must be an integer in [${min}, ${max}] (got ${JSON.stringify(value)})`);
    return value;
  };
  const maxInboundPerSource = int('maxInboundPerSource', l.maxInboundPerSource ?? LIMIT_DEFAULTS.maxInboundPerSource, 1, 100_000);
  const peerReservedConnections = int('peerReservedConnections', l.peerReservedConnections ?? Math.floor(maxInboundConnections / 4), 0, Math.max(0, maxInboundConnections - 1));
  const streamHeaderTimeoutMs = int('streamHeaderTimeoutMs', l.streamHeaderTimeoutMs ?? LIMIT_DEFAULTS.streamHeaderTimeoutMs, 10, 600_000);
  const streamIdleTimeoutMs = int('streamIdleTimeoutMs', l.streamIdleTimeoutMs ?? LIMIT_DEFAULTS.streamIdleTimeoutMs, 10, 600_000);
  if (problems.length > start) return null;
  return {
    maxInboundPerSource,
    peerReservedConnections,
    streamHeaderTimeoutMs,
    streamIdleTimeoutMs,
    envelope: new Envelope({ keyring, label, transition }),
    keyring,
    ...(s.keyringFile === undefined ? {} : { keyringFile: s.keyringFile }),
    createFile,
    maxDatagramBytes,
    maxInboundConnections,
    maxOutboundConnections,
    maxConnectionBytes,
  };
}
