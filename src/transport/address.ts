/**
 * Addresses as users write them (HOST:PORT, [IPv6]:PORT) and as the sockets need them: parsing,
 * formatting, map keys, and the advertise address chosen for a wildcard bind.
 */
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { InvalidAddressError, formatHostPort } from '../errors.js';
import type { Address } from '../wire/messages.js';

export { formatHostPort };

/**
 * The syntax of `HOST:PORT`, `[IPV6]:PORT`, `HOST` or `[IPV6]`, without judging the host name or
 * the port's range: the one place that knows where a host ends and a port begins. Callers word
 * their own messages (a thrown error here, a config problem list in agent/config.ts).
 */
export type HostPortSyntax =
  | { readonly ok: true; readonly host: string; readonly portText: string | undefined; readonly bracketed: boolean }
  | { readonly ok: false; readonly fault: 'empty' | 'unclosed-bracket' | 'unbracketed-ipv6' }
  | { readonly ok: false; readonly fault: 'after-bracket'; readonly rest: string }
  | { readonly ok: false; readonly fault: 'not-ipv6'; readonly host: string };

export function splitHostPort(input: string): HostPortSyntax {
  const text = input.trim();
  if (text.length === 0) return { ok: false, fault: 'empty' };
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return { ok: false, fault: 'unclosed-bracket' };
    const host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest.length > 0 && !rest.startsWith(':')) return { ok: false, fault: 'after-bracket', rest };
    if (isIP(host) !== 6) return { ok: false, fault: 'not-ipv6', host };
    return { ok: true, host, portText: rest.length > 0 ? rest.slice(1) : undefined, bracketed: true };
  }
  const at = text.indexOf(':');
  if (at >= 0 && text.indexOf(':', at + 1) >= 0) return { ok: false, fault: 'unbracketed-ipv6' };
  return { ok: true, host: at < 0 ? text : text.slice(0, at), portText: at < 0 ? undefined : text.slice(at + 1), bracketed: false };
}

/** A port as written: 1 to 5 digits. */
export function isPortText(text: string): boolean {
  return /^\d{1,5}$/.test(text);
}

/**
 * Parses `HOST:PORT`, `[IPV6]:PORT` or a bare IPv6 address with a port in brackets. A missing port
 * takes `defaultPort` when given. Throws InvalidAddressError with what was wrong.
 */
export function parseHostPort(input: string, defaultPort?: number): Address {
  const syntax = splitHostPort(input);
  if (!syntax.ok) {
    switch (syntax.fault) {
      case 'empty':
        throw new InvalidAddressError(input, 'it is empty');
      case 'unclosed-bracket':
        throw new InvalidAddressError(input, 'a "[" without its "]"');
      case 'after-bracket':
        throw new InvalidAddressError(input, `unexpected "${syntax.rest}" after "]"`);
      case 'not-ipv6':
        throw new InvalidAddressError(input, `"${syntax.host}" is not an IPv6 address`);
      case 'unbracketed-ipv6':
        throw new InvalidAddressError(input, 'an IPv6 address needs brackets around it when a port follows');
    }
  }
  const { host, portText } = syntax;
  if (host.length === 0) throw new InvalidAddressError(input, 'the host is empty');
  let port: number;
  if (portText === undefined) {
    if (defaultPort === undefined) throw new InvalidAddressError(input, 'the port is missing');
    port = defaultPort;
  } else {
    if (!isPortText(portText)) throw new InvalidAddressError(input, `port "${portText}" is not a number`);
    port = Number(portText);
  }
  if (port < 0 || port > 65_535) throw new InvalidAddressError(input, `port ${port} is outside 0..65535`);
  return { host, port };
}

/** A map key for an address (host as written, lower-cased; port). */
export function addressKey(addr: Address): string {
  return formatHostPort(addr.host.toLowerCase(), addr.port);
}

/** Strips the IPv4-mapped prefix a dual-stack socket reports (`::ffff:10.0.0.1` → `10.0.0.1`). */
export function normalizeHost(host: string): string {
  return host.startsWith('::ffff:') && isIP(host.slice(7)) === 4 ? host.slice(7) : host;
}

export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

/**
 * The host to advertise when the listeners bind a wildcard address and no advertise address was
 * given: the first non-internal interface address of the bound family (IPv4 first for `::`), or
 * loopback when the machine has nothing else.
 */
export function defaultAdvertiseHost(boundHost: string): string {
  if (!isWildcardHost(boundHost)) return boundHost;
  const families = boundHost === '::' ? ['IPv4', 'IPv6'] : ['IPv4'];
  const all = Object.values(networkInterfaces()).flatMap((list) => list ?? []);
  for (const family of families) {
    const found = all.find((i) => !i.internal && i.family === family && !(family === 'IPv6' && i.scopeid !== 0));
    if (found !== undefined) return found.address;
  }
  return boundHost === '::' ? '::1' : '127.0.0.1';
}
