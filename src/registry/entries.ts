/**
 * The registry on the state layer (src/state/): each instance a node registers is one entry,
 * keyed `i:<id>`, whose value is the instance (payload.ts's instance format), and once its status
 * has changed a second, tiny one, `s:<id>`, holding the status now. Registering or deregistering
 * changes one instance's entries, a health flip only its status entry, so what spreads is that,
 * not the node's whole list, and a node is not bounded by one datagram. `c:` is reserved for
 * per-check entries (issue 16).
 */
import { decodeInstanceEntry, decodeStatusEntry, encodeInstanceEntry, encodeStatusEntry, instanceEntryStatusOffset } from './payload.js';
import type { HealthStatus, LocalInstanceRecord } from './types.js';
import { bytesEqual } from '../util/bytes.js';
import type { StateEntry } from '../state/types.js';

export const INSTANCE_KEY_PREFIX = 'i:';
/** An instance's status as its own small entry (`s:<id>`): what a health flip changes. */
export const STATUS_KEY_PREFIX = 's:';
/**
 * Reserved for per-check entries (`c:<id>:<checkId>`, the web view's checks of remote instances,
 * issue 16); nothing here writes or reads them, and the registry feed skips them.
 */
export const CHECK_KEY_PREFIX = 'c:';

export const instanceKey = (id: string): string => `${INSTANCE_KEY_PREFIX}${id}`;
export const statusKey = (id: string): string => `${STATUS_KEY_PREFIX}${id}`;

/** A change to make to this node's state: set `key` to `value`, or delete it (`value` null). */
export interface EntryChange {
  readonly key: string;
  readonly value: Uint8Array | null;
}

const holdsStatus = (value: Uint8Array | undefined, status: HealthStatus): boolean => {
  if (value === undefined) return false;
  const r = decodeStatusEntry(value);
  return r.ok && r.status === status;
};

/** Whether two instance entries differ at most in their status byte. */
function sameButStatus(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  const at = instanceEntryStatusOffset(b);
  if (at < 0 || instanceEntryStatusOffset(a) !== at) return false;
  for (let i = 0; i < a.length; i++) if (i !== at && a[i] !== b[i]) return false;
  return true;
}

/**
 * What to change in this node's state so that its instances are `next`: the entries `held`
 * (key -> value, as the state holds them now) that differ or are gone, and the new ones.
 *
 * An instance is its entry `i:<id>` (the whole record, with the status it had when the record was
 * last written) and, once its status has changed since, `s:<id>` (the status now, two bytes),
 * which wins. So a flip (health or maintenance) changes only `s:<id>`; a change to anything else
 * rewrites `i:<id>` (with the status now). Deleting an instance deletes `i:` before `s:`, and a
 * new one deletes a left-over `s:` before it sets `i:`, so that any prefix of the changes (a delta
 * cut at a packet budget) never shows a status that was not the instance's.
 */
export function instanceChanges(
  held: ReadonlyMap<string, Uint8Array>,
  next: readonly LocalInstanceRecord[],
  encode: (r: LocalInstanceRecord) => Uint8Array = encodeInstanceEntry,
): EntryChange[] {
  const out: EntryChange[] = [];
  const wanted = new Set<string>();
  for (const r of next) {
    const key = instanceKey(r.id);
    const sKey = statusKey(r.id);
    wanted.add(r.id);
    const value = encode(r);
    const old = held.get(key);
    const oldStatus = held.get(sKey);
    if (old === undefined) {
      if (oldStatus !== undefined) out.push({ key: sKey, value: null });
      out.push({ key, value });
    } else if (bytesEqual(old, value)) {
      // The record holds the status now: a status entry saying otherwise follows it back.
      if (oldStatus !== undefined && !holdsStatus(oldStatus, r.status)) out.push({ key: sKey, value: encodeStatusEntry(r.status) });
    } else if (sameButStatus(old, value)) {
      if (!holdsStatus(oldStatus, r.status)) out.push({ key: sKey, value: encodeStatusEntry(r.status) });
    } else {
      out.push({ key, value });
      if (oldStatus !== undefined && !holdsStatus(oldStatus, r.status)) out.push({ key: sKey, value: encodeStatusEntry(r.status) });
    }
  }
  for (const key of held.keys()) {
    if (key.startsWith(INSTANCE_KEY_PREFIX)) {
      const id = key.slice(INSTANCE_KEY_PREFIX.length);
      if (wanted.has(id)) continue;
      out.push({ key, value: null });
      if (held.has(statusKey(id))) out.push({ key: statusKey(id), value: null });
    } else if (key.startsWith(STATUS_KEY_PREFIX)) {
      const id = key.slice(STATUS_KEY_PREFIX.length);
      // A status without its instance (left over): gone too.
      if (!wanted.has(id) && !held.has(instanceKey(id))) out.push({ key, value: null });
    }
  }
  return out;
}

/**
 * A node's instances from its state entries (`i:<id>` with its `s:<id>` status if any; other keys
 * are not the registry's). An entry that does not decode, or whose id does not match its key, is
 * left out and reported, never thrown; a status entry without its instance is ignored.
 */
export function instancesFromEntries(entries: Iterable<{ readonly key: string; readonly value: Uint8Array }>): { records: LocalInstanceRecord[]; invalid: { key: string; reason: string }[] } {
  const records: LocalInstanceRecord[] = [];
  const invalid: { key: string; reason: string }[] = [];
  const statuses = new Map<string, HealthStatus>();
  const bodies: { readonly key: string; readonly value: Uint8Array }[] = [];
  for (const e of entries) {
    if (e.key.startsWith(INSTANCE_KEY_PREFIX)) bodies.push(e);
    else if (e.key.startsWith(STATUS_KEY_PREFIX)) {
      const r = decodeStatusEntry(e.value);
      if (r.ok) statuses.set(e.key.slice(STATUS_KEY_PREFIX.length), r.status);
      else invalid.push({ key: e.key, reason: r.reason });
    }
  }
  for (const e of bodies) {
    const r = instanceFromEntry(e);
    if (r.ok) records.push(withStatus(r.record, statuses.get(r.record.id)));
    else invalid.push({ key: e.key, reason: r.reason });
  }
  return { records, invalid };
}

/** The record with its status entry's status (frozen, like a decoded record), or itself. */
export function withStatus(record: LocalInstanceRecord, status: HealthStatus | undefined): LocalInstanceRecord {
  return status === undefined || status === record.status ? record : Object.freeze({ ...record, status });
}

/**
 * A node's instances as the state entries a replica that held nothing of it is given (versions
 * 1..n, in order): what a driver or a test feeds a RegistryFeed in one 'state-update'.
 */
export function instanceEntries(records: readonly LocalInstanceRecord[], firstVersion = 1): StateEntry[] {
  return records.map((r, i) => ({ key: instanceKey(r.id), value: encodeInstanceEntry(r), version: firstVersion + i, deleted: false }));
}

/** One instance entry's record (the caller checked the key's prefix), or why it is not one. */
export function instanceFromEntry(e: { readonly key: string; readonly value: Uint8Array }): { ok: true; record: LocalInstanceRecord } | { ok: false; reason: string } {
  const r = decodeInstanceEntry(e.value);
  if (!r.ok) return { ok: false, reason: r.reason };
  if (instanceKey(r.record.id) !== e.key) return { ok: false, reason: `holds instance ${r.record.id}` };
  return { ok: true, record: r.record };
}
