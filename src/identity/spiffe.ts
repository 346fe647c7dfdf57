/**
 * The identity a certificate carries, as subjectAltName URIs in the style of SPIFFE IDs:
 *
 *   spiffe://TRUST-DOMAIN                      the CA (its own certificate)
 *   spiffe://TRUST-DOMAIN/node/NAME            the node NAME (exactly one per node certificate)
 *   spiffe://TRUST-DOMAIN/service/PATTERN      a service name, or a pattern with `*` (`api-*`), it may register
 *
 * Service names are DNS labels (registry/validate.ts), so `/service/billing` is a strict SPIFFE ID;
 * a pattern's `*` is not a SPIFFE path character, and a node name may hold characters SPIFFE does
 * not allow: those are percent-encoded (encodeURIComponent, `*` kept), which is where this scheme
 * is only SPIFFE-style. Pure: parsing and matching, no crypto.
 */

export const SPIFFE_SCHEME = 'spiffe://';
/** A trust domain: lowercase letters, digits, dots, hyphens and underscores (the SPIFFE rule), 1-255 characters. */
const TRUST_DOMAIN_RE = /^[a-z0-9._-]{1,255}$/;
/** A service pattern: a DNS label where `*` stands for any run of characters (`*` alone: every service). */
const PATTERN_RE = /^[a-z0-9*](?:[a-z0-9*-]{0,61}[a-z0-9*])?$/;

/** What is wrong with a trust domain, or undefined. */
export function trustDomainProblem(td: string): string | undefined {
  return TRUST_DOMAIN_RE.test(td) ? undefined : `trust domain ${JSON.stringify(td)} must be 1-255 lowercase letters, digits, ".", "-" or "_", e.g. "prod.example"`;
}

/** What is wrong with a service pattern, or undefined. */
export function servicePatternProblem(pattern: string): string | undefined {
  return PATTERN_RE.test(pattern)
    ? undefined
    : `service pattern ${JSON.stringify(pattern)} must be a service name (lowercase letters, digits, inner hyphens) where "*" matches any characters, e.g. "billing" or "api-*"`;
}

export function caUri(trustDomain: string): string {
  return `${SPIFFE_SCHEME}${trustDomain}`;
}

export function nodeUri(trustDomain: string, node: string): string {
  return `${SPIFFE_SCHEME}${trustDomain}/node/${encodeURIComponent(node)}`;
}

export function serviceUri(trustDomain: string, pattern: string): string {
  return `${SPIFFE_SCHEME}${trustDomain}/service/${pattern}`;
}

/** What a certificate's URIs say. */
export interface SpiffeClaims {
  /** Empty when the certificate has no spiffe:// URI. */
  readonly trustDomains: readonly string[];
  /** Node names (a node certificate must have exactly one). */
  readonly nodes: readonly string[];
  /** Service patterns. */
  readonly services: readonly string[];
  /** spiffe:// URIs that are neither the bare trust domain, a node nor a service. */
  readonly unknown: readonly string[];
}

/** Reads the spiffe:// URIs among `uris`; other URIs are ignored. */
export function parseSpiffeUris(uris: readonly string[]): SpiffeClaims {
  const trustDomains = new Set<string>();
  const nodes: string[] = [];
  const services: string[] = [];
  const unknown: string[] = [];
  for (const uri of uris) {
    if (!uri.startsWith(SPIFFE_SCHEME)) continue;
    const rest = uri.slice(SPIFFE_SCHEME.length);
    const slash = rest.indexOf('/');
    const td = slash < 0 ? rest : rest.slice(0, slash);
    const path = slash < 0 ? '' : rest.slice(slash + 1);
    if (trustDomainProblem(td) !== undefined) {
      unknown.push(uri);
      continue;
    }
    trustDomains.add(td);
    if (path === '') continue;
    const m = /^(node|service)\/([^/]+)$/.exec(path);
    if (m === null) {
      unknown.push(uri);
      continue;
    }
    if (m[1] === 'node') {
      let name: string;
      try {
        name = decodeURIComponent(m[2] as string);
      } catch {
        unknown.push(uri);
        continue;
      }
      nodes.push(name);
    } else if (servicePatternProblem(m[2] as string) === undefined) services.push(m[2] as string);
    else unknown.push(uri);
  }
  return { trustDomains: [...trustDomains], nodes, services, unknown };
}

/** Whether `pattern` (a name, or a name with `*` wildcards) matches the service `name`. */
export function patternMatches(pattern: string, name: string): boolean {
  if (!pattern.includes('*')) return pattern === name;
  const parts = pattern.split('*');
  const first = parts[0] as string;
  const last = parts[parts.length - 1] as string;
  if (!name.startsWith(first) || name.length < first.length + last.length || !name.endsWith(last)) return false;
  let at = first.length;
  const end = name.length - last.length;
  for (const mid of parts.slice(1, -1)) {
    if (mid === '') continue;
    const found = name.indexOf(mid, at);
    if (found < 0 || found + mid.length > end) return false;
    at = found + mid.length;
  }
  return true;
}

/** Whether any of `patterns` allows the service `name`. */
export function servicesAllow(patterns: readonly string[], name: string): boolean {
  return patterns.some((p) => patternMatches(p, name));
}
