/**
 * Addresses as users write them (HOST:PORT, [IPv6]:PORT) and as the sockets need them: the one
 * parser (which returns a problem, never throws), the one formatter, map keys, the loopback and
 * unspecified tests, and the advertise address chosen for a wildcard bind. Every layer that reads
 * or prints an address uses these.
 */
import { isIP, isIPv4 } from 'node:net';
import { networkInterfaces } from 'node:os';
import { DEFAULT_DECODE_LIMITS } from '../wire/limits.js';
import type { Address } from '../wire/messages.js';

export type ParsedHostPort = { readonly ok: true; readonly address: Address } | { readonly ok: false; readonly problem: string };

export interface HostPortOptions {
  /** Port used when the text names only a host. Without it, a port is required. */
  readonly defaultPort?: number;
  /** Accept port 0 ("any free port", for listeners). @default false */
  readonly allowPortZero?: boolean;
}

/** The gossip port (UDP and TCP on the same number) unless told otherwise; seeds without a port use it. */
export const DEFAULT_PORT = 7946;
/** The port the examples in problems show when no default port is given. */
const EXAMPLE_PORT = DEFAULT_PORT;
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOSTNAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*\\.?$`);

type HostPortSyntax =
  | { readonly ok: true; readonly host: string; readonly portText: string | undefined; readonly bracketed: boolean }
  | { readonly ok: false; readonly problem: string };

/** Where the host ends and the port begins in `HOST:PORT`, `[IPV6]:PORT`, `HOST` or `[IPV6]`. */
function splitHostPort(input: string, example: string, port: number): HostPortSyntax {
  const text = input.trim();
  if (text.length === 0) return { ok: false, problem: `is empty: give HOST:PORT, ${example}` };
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return { ok: false, problem: `has "[" without "]": write IPv6 addresses as [ADDRESS]:PORT, ${example}` };
    const host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest.length > 0 && !rest.startsWith(':')) return { ok: false, problem: `has "${rest}" after "]": write IPv6 addresses as [ADDRESS]:PORT, ${example}` };
    if (isIP(host) !== 6) return { ok: false, problem: `has "${host}" in brackets, which is not an IPv6 address: ${example}` };
    return { ok: true, host, portText: rest.length > 0 ? rest.slice(1) : undefined, bracketed: true };
  }
  const at = text.indexOf(':');
  if (at >= 0 && text.indexOf(':', at + 1) >= 0) {
    return { ok: false, problem: `looks like an IPv6 address without brackets: write [ADDRESS]:PORT, e.g. [::1]:${port}` };
  }
  return { ok: true, host: at < 0 ? text : text.slice(0, at), portText: at < 0 ? undefined : text.slice(at + 1), bracketed: false };
}

/**
 * Parses `host:port`, `[ipv6]:port` (and a bare host or `[ipv6]` when `defaultPort` is given). Never
 * throws: the problem, if any, completes a sentence such as `--join "x" <problem>`.
 */
export function parseHostPort(text: string, options: HostPortOptions = {}): ParsedHostPort {
  const examplePort = options.defaultPort ?? EXAMPLE_PORT;
  const example = `e.g. 127.0.0.1:${examplePort} or [::1]:${examplePort}`;
  const syntax = splitHostPort(text, example, examplePort);
  if (!syntax.ok) return syntax;
  const { host, portText } = syntax;
  if (!syntax.bracketed) {
    if (host === '') return { ok: false, problem: `has no host: give one, e.g. 0.0.0.0${text.trim()} to listen on every IPv4 interface` };
    const hostProblem = checkHost(host);
    if (hostProblem !== undefined) return { ok: false, problem: `${hostProblem}: ${example}` };
  }
  if (Buffer.byteLength(host) > DEFAULT_DECODE_LIMITS.maxHostBytes) return { ok: false, problem: `has a host longer than ${DEFAULT_DECODE_LIMITS.maxHostBytes} bytes` };
  let port: number;
  if (portText === undefined) {
    if (options.defaultPort === undefined) return { ok: false, problem: `has no port: give HOST:PORT, ${example}` };
    port = options.defaultPort;
  } else {
    if (!/^\d{1,5}$/.test(portText)) return { ok: false, problem: `has port "${portText}", which is not a number in 0-65535: ${example}` };
    port = Number(portText);
    const min = options.allowPortZero === true ? 0 : 1;
    if (port > 65535 || port < min) {
      return {
        ok: false,
        problem: `has port ${port}, outside ${min}-65535${min === 1 && port === 0 ? ' (0, "any free port", only makes sense for a listener)' : ''}: ${example}`,
      };
    }
  }
  return { ok: true, address: { host, port } };
}

function checkHost(host: string): string | undefined {
  if (isIPv4(host)) return undefined;
  if (/^[0-9.]+$/.test(host)) return `has host "${host}", which is not a valid IPv4 address`;
  if (!HOSTNAME.test(host)) return `has host "${host}", which is neither an IP address nor a host name`;
  return undefined;
}

/** HOST:PORT, with IPv6 hosts in brackets. */
export function formatHostPort(address: Address): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** A map key for an address (host as written, lower-cased; port). */
export function addressKey(addr: Address): string {
  return formatHostPort({ host: addr.host.toLowerCase(), port: addr.port });
}

/** True for 127.0.0.0/8, ::1 (and ::ffff:127.x) and "localhost". */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (isIPv4(h)) return h.startsWith('127.');
  if (isIP(h) !== 6) return false;
  // Any spelling of ::1 or of an IPv4-mapped 127.x: the URL parser writes IPv6 in canonical form.
  const canonical = new URL(`http://[${h}]/`).hostname.slice(1, -1);
  return canonical === '::1' || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(canonical);
}

/** True for 0.0.0.0, :: (any spelling) and the empty host: "every interface", never a peer's address. */
export function isUnspecifiedHost(host: string): boolean {
  return host === '' || host === '0.0.0.0' || (isIP(host) === 6 && /^[0:]+$/.test(host));
}

/** Strips the IPv4-mapped prefix a dual-stack socket reports (`::ffff:10.0.0.1` → `10.0.0.1`). */
export function normalizeHost(host: string): string {
  return host.startsWith('::ffff:') && isIP(host.slice(7)) === 4 ? host.slice(7) : host;
}

/**
 * The host to advertise when the listeners bind a wildcard address and no advertise address was
 * given: the first non-internal interface address of the bound family (IPv4 first for `::`), or
 * loopback when the machine has nothing else.
 */
export function defaultAdvertiseHost(boundHost: string): string {
  if (!isUnspecifiedHost(boundHost)) return boundHost;
  const v6 = isIP(boundHost) === 6;
  const families = v6 ? ['IPv4', 'IPv6'] : ['IPv4'];
  const all = Object.values(networkInterfaces()).flatMap((list) => list ?? []);
  for (const family of families) {
    const found = all.find((i) => !i.internal && i.family === family && !(family === 'IPv6' && i.scopeid !== 0));
    if (found !== undefined) return found.address;
  }
  return v6 ? '::1' : '127.0.0.1';
}
