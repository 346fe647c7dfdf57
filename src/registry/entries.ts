/**
 * The registry on the state layer (src/state/): each instance a node registers is one entry,
 * keyed `i:<id>`, whose value is the instance (payload.ts's instance format). Registering,
 * deregistering or a health flip changes one small entry, so what spreads is that one instance,
 * not the node's whole list, and a node is not bounded by one datagram.
 */
import { decodeInstanceEntry, encodeInstanceEntry } from './payload.js';
import type { LocalInstanceRecord } from './types.js';
import { bytesEqual } from '../util/bytes.js';
import type { StateEntry } from '../state/types.js';

export const INSTANCE_KEY_PREFIX = 'i:';

export const instanceKey = (id: string): string => `${INSTANCE_KEY_PREFIX}${id}`;

/** A change to make to this node's state: set `key` to `value`, or delete it (`value` null). */
export interface EntryChange {
  readonly key: string;
  readonly value: Uint8Array | null;
}

/**
 * What to change in this node's state so that its instance entries are `next`: the entries
 * `held` (key -> value, as the state holds them now) that differ or are gone, and the new ones.
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
    wanted.add(key);
    const value = encode(r);
    const old = held.get(key);
    if (old === undefined || !bytesEqual(old, value)) out.push({ key, value });
  }
  for (const key of held.keys()) if (key.startsWith(INSTANCE_KEY_PREFIX) && !wanted.has(key)) out.push({ key, value: null });
  return out;
}

/**
 * A node's instances from its state entries (other keys are not the registry's). An entry that does
 * not decode, or whose id does not match its key, is left out and reported, never thrown.
 */
export function instancesFromEntries(entries: Iterable<{ readonly key: string; readonly value: Uint8Array }>): { records: LocalInstanceRecord[]; invalid: { key: string; reason: string }[] } {
  const records: LocalInstanceRecord[] = [];
  const invalid: { key: string; reason: string }[] = [];
  for (const e of entries) {
    if (!e.key.startsWith(INSTANCE_KEY_PREFIX)) continue;
    const r = instanceFromEntry(e);
    if (r.ok) records.push(r.record);
    else invalid.push({ key: e.key, reason: r.reason });
  }
  return { records, invalid };
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
