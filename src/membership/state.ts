/** A member's state (tags and payload): the empty value and equality. */
import type { Address, AliveState, MemberState } from '../wire/messages.js';
import { bytesEqual } from '../util/bytes.js';

export const EMPTY_STATE: MemberState = Object.freeze({ tags: Object.freeze({}), payload: null });

export function tagsEqual(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  if (a === b) return true;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k) || a[k] !== b[k]) return false;
  }
  return true;
}

/** The same alive state (its payload; tags are a state entry since protocol 3). */
export function stateEquals(a: AliveState, b: AliveState): boolean {
  return a === b || bytesEqual(a.payload, b.payload);
}

/** The empty alive state (what every node's alive carries unless an embedder sets a payload). */
export const EMPTY_ALIVE_STATE: AliveState = Object.freeze({ payload: null });

export function sameAddress(a: Address, b: Address): boolean {
  return a === b || (a.host === b.host && a.port === b.port);
}

/** A total order on addresses (host, then port), the same on every node. */
export function compareAddress(a: Address, b: Address): number {
  if (a.host !== b.host) return a.host < b.host ? -1 : 1;
  return a.port - b.port;
}
