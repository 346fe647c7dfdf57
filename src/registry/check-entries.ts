/**
 * An instance's checks in its node's state, so that every agent can show them (the web view's
 * instance detail, Consul's /v1/health/* with each check and its output), not only the agent that
 * runs them. One entry `c:<serviceId>` per instance that has checks, beside its `i:<id>` entry:
 *
 *   value = MAGIC(0x43 'C') VERSION(1) count:u8 check*count
 *   check = id:str8 kind:u8 status:u8 output:str16
 *           kind: 0 ttl, 1 http, 2 tcp, 3 command; status: 0 passing, 1 warning, 2 critical
 *
 * The output is cut to GOSSIPED_CHECK_OUTPUT_BYTES at a character boundary: the owner keeps the
 * whole of it (MAX_CHECK_OUTPUT) for its own API; the mesh gets enough to tell what went wrong.
 *
 * What spreads when: a change of any check's status is published with the instance's own status
 * (the same publication, within the agent's serviceUpdateIntervalMs); a change of output alone at
 * most once per `outputIntervalMs` per instance (Consul's check_update_interval, 5 minutes by
 * default), so a check whose output carries a timestamp does not keep the mesh busy. Pure: the
 * caller passes the time.
 */
import { bytesEqual } from '../util/bytes.js';
import type { EntryChange } from './entries.js';
import type { CheckInfo, CheckKind, CheckStatus } from './local.js';
import { PayloadError, Reader, Writer } from './payload.js';

export const CHECKS_KEY_PREFIX = 'c:';
export const CHECKS_ENTRY_MAGIC = 0x43;
export const CHECKS_ENTRY_VERSION = 1;
/** Most bytes of one check's output in the mesh (the owner keeps and serves all of it). */
export const GOSSIPED_CHECK_OUTPUT_BYTES = 256;
/** How often a check's output alone is published again, by default (Consul's check_update_interval). */
export const DEFAULT_CHECK_OUTPUT_INTERVAL_MS = 5 * 60_000;

const KINDS: readonly CheckKind[] = ['ttl', 'http', 'tcp', 'command'];
const STATUSES: readonly CheckStatus[] = ['passing', 'warning', 'critical'];
const encoder = new TextEncoder();

export const checksKey = (serviceId: string): string => `${CHECKS_KEY_PREFIX}${serviceId}`;

/** `checks` by the instance they belong to, each list in the order given. */
export function checksByInstance<C extends Pick<CheckInfo, 'serviceId'>>(checks: Iterable<C>): Map<string, C[]> {
  const out = new Map<string, C[]>();
  for (const c of checks) {
    const list = out.get(c.serviceId);
    if (list === undefined) out.set(c.serviceId, [c]);
    else list.push(c);
  }
  return out;
}

/** A remote instance's check as its node published it (CheckInfo, with output cut). */
export type PublishedCheck = CheckInfo;

/** `s` cut to at most `max` UTF-8 bytes, at a character boundary (an ellipsis marks a cut). */
export function cutUtf8(s: string, max: number): string {
  if (s.length <= max / 3 || encoder.encode(s).length <= max) return s;
  let out = '';
  let bytes = 0;
  const room = max - 3; // the ellipsis
  for (const ch of s) {
    const b = encoder.encode(ch).length;
    if (bytes + b > room) break;
    out += ch;
    bytes += b;
  }
  return `${out}…`;
}

/** One instance's checks (all with its serviceId), as its entry's value. */
export function encodeChecksEntry(checks: readonly CheckInfo[]): Uint8Array {
  if (checks.length > 0xff) throw new RangeError(`${checks.length} checks on one instance: at most 255`);
  const w = new Writer(64 + checks.length * 32);
  w.u8(CHECKS_ENTRY_MAGIC);
  w.u8(CHECKS_ENTRY_VERSION);
  w.u8(checks.length);
  for (const c of checks) {
    w.str(c.id, false);
    w.u8(KINDS.indexOf(c.kind));
    w.u8(STATUSES.indexOf(c.status));
    w.str(cutUtf8(c.output, GOSSIPED_CHECK_OUTPUT_BYTES), true);
  }
  return w.done();
}

export type DecodeChecksResult = { readonly ok: true; readonly checks: readonly PublishedCheck[] } | { readonly ok: false; readonly reason: string };

/** Decodes and validates one checks entry of instance `serviceId`. Never throws. */
export function decodeChecksEntry(serviceId: string, bytes: Uint8Array): DecodeChecksResult {
  try {
    const r = new Reader(bytes);
    if (r.u8() !== CHECKS_ENTRY_MAGIC) return { ok: false, reason: 'not a checks entry' };
    const version = r.u8();
    if (version !== CHECKS_ENTRY_VERSION) return { ok: false, reason: `unknown checks entry version ${version}` };
    const count = r.u8();
    const checks: PublishedCheck[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < count; i++) {
      const id = r.str(false);
      const kind = KINDS[r.u8()];
      const status = STATUSES[r.u8()];
      const output = r.str(true);
      if (id === '') return { ok: false, reason: `check ${i} has an empty id` };
      if (seen.has(id)) return { ok: false, reason: `check ${id} is listed twice` };
      if (kind === undefined) return { ok: false, reason: `check ${id} has an unknown kind` };
      if (status === undefined) return { ok: false, reason: `check ${id} has an unknown status` };
      if (encoder.encode(output).length > GOSSIPED_CHECK_OUTPUT_BYTES) return { ok: false, reason: `check ${id}'s output is over ${GOSSIPED_CHECK_OUTPUT_BYTES} bytes` };
      seen.add(id);
      checks.push(Object.freeze({ id, serviceId, kind, status, output }));
    }
    if (r.left !== 0) return { ok: false, reason: `${r.left} trailing bytes` };
    return { ok: true, checks: Object.freeze(checks) };
  } catch (err) {
    if (err instanceof PayloadError) return { ok: false, reason: err.message };
    throw err;
  }
}

/** What this node last published for one instance's checks. */
export interface HeldChecks {
  readonly value: Uint8Array;
  /** Each check's id and status: what must spread at once when it changes. */
  readonly statuses: string;
  /** When the value was published (the caller's clock). */
  readonly at: number;
}

const statusesOf = (checks: readonly CheckInfo[]): string => checks.map((c) => `${c.id}\u0000${c.status}`).join('\u0001');

export interface ChecksPlan {
  /** The entry changes to publish now. */
  readonly changes: EntryChange[];
  /** What `held` becomes once they are published (keys with a change only). */
  readonly held: ReadonlyMap<string, HeldChecks | null>;
  /** When an output change held back now falls due; null when none waits. */
  readonly nextDueAt: number | null;
}

/**
 * The checks entries to publish at `now` so that the node's state shows `checks` (this agent's,
 * any order): a new or gone instance's entry, or a changed status, at once; a changed output alone
 * once `outputIntervalMs` has passed since that entry was last published.
 */
export function planChecks(held: ReadonlyMap<string, HeldChecks>, checks: readonly CheckInfo[], now: number, outputIntervalMs: number): ChecksPlan {
  const byInstance = checksByInstance(checks);
  const changes: EntryChange[] = [];
  const next = new Map<string, HeldChecks | null>();
  let nextDueAt: number | null = null;
  for (const [serviceId, list] of byInstance) {
    list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const key = checksKey(serviceId);
    const value = encodeChecksEntry(list);
    const statuses = statusesOf(list);
    const old = held.get(key);
    if (old !== undefined && bytesEqual(old.value, value)) continue;
    if (old !== undefined && old.statuses === statuses && now - old.at < outputIntervalMs) {
      const due = old.at + outputIntervalMs;
      nextDueAt = nextDueAt === null ? due : Math.min(nextDueAt, due);
      continue;
    }
    changes.push({ key, value });
    next.set(key, { value, statuses, at: now });
  }
  for (const key of held.keys()) {
    if (!byInstance.has(key.slice(CHECKS_KEY_PREFIX.length))) {
      changes.push({ key, value: null });
      next.set(key, null);
    }
  }
  return { changes, held: next, nextDueAt };
}
