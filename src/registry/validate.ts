/**
 * The rules a service instance obeys, shared by registration (a user's mistake: a clear message
 * per problem) and by the payload decoder (a peer's mistake: the node's payload is dropped).
 * Names are DNS labels so that every service is reachable as NAME.service.hearsay.
 */
import { HEALTH_STATUSES, type HealthStatus } from './types.js';

export const REGISTRY_LIMITS = Object.freeze({
  /** Longest service name (a DNS label). */
  maxNameBytes: 63,
  /** Longest instance id. */
  maxIdBytes: 128,
  /** Longest instance address (an IP literal or a DNS name). */
  maxAddressBytes: 253,
  maxTags: 64,
  maxTagBytes: 255,
  maxMetaKeys: 64,
  maxMetaKeyBytes: 128,
  maxMetaValueBytes: 512,
  /**
   * Most instances one node may ever register: the ceiling of the agent's maxInstancesPerNode
   * (each instance is at most three entries of the node's state: its record, its status once that
   * changes, and its checks; the state holds DEFAULT_STATE_LIMITS.maxEntries, three times this).
   */
  maxInstancesPerNode: 2048,
});

const NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const ID_RE = /^[A-Za-z0-9._:~-]+$/;
const META_KEY_RE = /^[A-Za-z0-9_-]+$/;
// eslint-disable-next-line no-control-regex
const CONTROL_OR_SPACE_RE = /[\u0000-\u0020\u007f]/;
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;
/**
 * An unpaired UTF-16 surrogate (JSON can carry one as "\ud800"): UTF-8 has no encoding for it, so
 * the payload would carry U+FFFD instead and peers would see a different string, or a repeat.
 */
const LONE_SURROGATE_RE = /[\uD800-\uDFFF]/u;

const encoder = new TextEncoder();
export function utf8Length(s: string): number {
  // Fast path for ASCII, the common case.
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  return ascii ? s.length : encoder.encode(s).length;
}

/**
 * A value as a problem message quotes it: as JSON where JSON can write it, else as JavaScript
 * shows it (NaN, Infinity, 10n). Never throws: JSON.stringify does on a bigint or a cycle, which
 * made a registration with one fail with a TypeError instead of its problems.
 */
export function shown(value: unknown): string {
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** A datacenter name (Consul's `datacenter`): a DNS label too, since it appears in NAME.service.DC.consul. */
export function datacenterProblem(dc: string): string | undefined {
  return /^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$/.test(dc) ? undefined : `datacenter ${JSON.stringify(dc)} must be 1-63 lowercase letters, digits, "-" and "_" (a DNS label), e.g. "dc1"`;
}

export function nameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    return `service name ${shown(name)} is not a DNS label: use 1-63 lowercase letters, digits and inner hyphens, e.g. "billing-api"`;
  }
  return undefined;
}

export function idProblem(id: unknown): string | undefined {
  if (typeof id !== 'string' || id.length === 0 || id.length > REGISTRY_LIMITS.maxIdBytes || !ID_RE.test(id)) {
    return `instance id ${shown(id)} must be 1-${REGISTRY_LIMITS.maxIdBytes} characters of letters, digits and . _ : ~ -`;
  }
  return undefined;
}

/**
 * An instance address is an IPv4 address, an IPv6 address without a zone (`%eth0` means nothing
 * on another host), or a host name of letters, digits and hyphens (labels of 1-63, 253 in all):
 * what DNS can carry and every peer can resolve the same way.
 */
export function addressProblem(address: unknown): string | undefined {
  const bad = `address ${shown(address)} must be an IPv4 address, an IPv6 address without a zone, or a host name such as "billing-1.internal"`;
  if (typeof address !== 'string' || address.length === 0 || address.length > 253) return bad;
  if (IPV4_RE.test(address)) {
    if (!isIPv4Literal(address)) return bad;
    const first = Number(address.split('.')[0]);
    if (address === '0.0.0.0') return `address ${shown(address)} is unspecified ("any interface"): give the address clients connect to, or leave it out for the agent's advertise address`;
    if (address === '255.255.255.255') return `address ${shown(address)} is the broadcast address: give the instance's own address`;
    if (first >= 224 && first <= 239) return `address ${shown(address)} is a multicast address: give the instance's own (unicast) address`;
    return undefined;
  }
  if (address.includes(':')) {
    if (!isIPv6Literal(address)) return bad;
    if (/^[0:]+$/.test(address)) return `address ${shown(address)} is unspecified ("any interface"): give the address clients connect to, or leave it out for the agent's advertise address`;
    if (/^ff[0-9a-f]{2}:/i.test(address)) return `address ${shown(address)} is a multicast address: give the instance's own (unicast) address`;
    return undefined;
  }
  return HOSTNAME_RE.test(address) ? undefined : bad;
}

const IPV4_RE = /^\d{1,3}(?:\.\d{1,3}){3}$/;
const HOST_LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOSTNAME_RE = new RegExp(`^${HOST_LABEL}(?:\\.${HOST_LABEL})*$`);

/** An IPv6 literal (with an optional embedded IPv4 tail), no zone, no brackets. */
function isIPv6Literal(s: string): boolean {
  if (!/^[0-9A-Fa-f:.]+$/.test(s)) return false;
  let text = s;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    if (!isIPv4Literal(tail)) return false;
    // The dotted tail stands for two groups.
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const double = text.indexOf('::');
  if (double !== text.lastIndexOf('::')) return false;
  const parts = text.split(':');
  if (double >= 0) {
    const groups = text.split('::').flatMap((half) => (half === '' ? [] : half.split(':')));
    return groups.length <= 7 && groups.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g));
  }
  return parts.length === 8 && parts.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g));
}

/** Four decimal octets 0-255, without leading zeros. */
function isIPv4Literal(s: string): boolean {
  return IPV4_RE.test(s) && s.split('.').every((o) => Number(o) <= 255 && (o === '0' || !o.startsWith('0')));
}

export function portProblem(port: unknown): string | undefined {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65_535) {
    return `port ${shown(port)} must be an integer in 1-65535`;
  }
  return undefined;
}

export function tagsProblems(tags: unknown): string[] {
  if (!Array.isArray(tags)) return [`tags must be an array of strings, e.g. ["v2", "primary"]`];
  const problems: string[] = [];
  if (tags.length > REGISTRY_LIMITS.maxTags) problems.push(`${tags.length} tags: give at most ${REGISTRY_LIMITS.maxTags}`);
  for (const t of tags) {
    if (typeof t !== 'string' || t.length === 0 || utf8Length(t) > REGISTRY_LIMITS.maxTagBytes || CONTROL_OR_SPACE_RE.test(t) || LONE_SURROGATE_RE.test(t)) {
      problems.push(`tag ${shown(t)} must be a string of 1-${REGISTRY_LIMITS.maxTagBytes} bytes of valid Unicode without spaces`);
    }
  }
  if (new Set(tags).size !== tags.length) problems.push('tags must not repeat');
  return problems;
}

export function metaProblems(meta: unknown): string[] {
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return ['meta must be an object of string values, e.g. {"version": "1.4.2"}'];
  const problems: string[] = [];
  const entries = Object.entries(meta);
  if (entries.length > REGISTRY_LIMITS.maxMetaKeys) problems.push(`${entries.length} meta keys: give at most ${REGISTRY_LIMITS.maxMetaKeys}`);
  for (const [k, v] of entries) {
    if (k.length > REGISTRY_LIMITS.maxMetaKeyBytes || !META_KEY_RE.test(k)) {
      problems.push(`meta key ${JSON.stringify(k)} must be 1-${REGISTRY_LIMITS.maxMetaKeyBytes} letters, digits, _ or -`);
    }
    if (typeof v !== 'string' || utf8Length(v) > REGISTRY_LIMITS.maxMetaValueBytes || CONTROL_RE.test(v) || LONE_SURROGATE_RE.test(v)) {
      problems.push(`meta value of ${JSON.stringify(k)} must be a string of at most ${REGISTRY_LIMITS.maxMetaValueBytes} bytes of valid Unicode without control characters`);
    }
  }
  return problems;
}

export function isHealthStatus(v: unknown): v is HealthStatus {
  return typeof v === 'string' && (HEALTH_STATUSES as readonly string[]).includes(v);
}
