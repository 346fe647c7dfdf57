/**
 * The registry on the state layer: one entry per instance, so a node may carry 1,000 instances and
 * a health flip spreads one small status entry (issue 13, points 1-2), checked through real StateStores.
 */
import { describe, expect, it } from 'vitest';
import { CHECK_KEY_PREFIX, instanceChanges, instanceKey, instancesFromEntries, STATUS_KEY_PREFIX, statusKey } from '../../src/registry/entries.js';
import { encodeInstanceEntry, encodeStatusEntry } from '../../src/registry/payload.js';
import type { LocalInstanceRecord } from '../../src/registry/types.js';
import { StateStore } from '../../src/state/store.js';
import { encodeDelta } from '../../src/wire/state-codec.js';

const inst = (k: number, status: LocalInstanceRecord['status'] = 'passing'): LocalInstanceRecord => ({
  id: `web-${k}`,
  name: 'web',
  address: `10.0.${k >> 8}.${k & 0xff}`,
  port: 8000 + (k % 1000),
  tags: ['v2', 'blue'],
  meta: { zone: 'eu-1' },
  status,
});

const held = (s: StateStore): Map<string, Uint8Array> => new Map((s.entriesOf(s.self) ?? []).map((e) => [e.key, e.value]));
const applyChanges = (s: StateStore, next: LocalInstanceRecord[], now = 0): number => {
  const changes = instanceChanges(held(s), next);
  for (const c of changes) {
    const r = c.value === null ? s.delete(c.key, now) : s.set(c.key, c.value, now);
    if (!r.ok) throw new Error(r.reason);
  }
  return changes.length;
};

describe('the registry on the state layer', () => {
  it('a node carries 1,000 instances, the 1,000th costs one entry like the first, and a replica ends equal', () => {
    const owner = new StateStore('host-1', 1);
    const replica = new StateStore('host-2', 1);
    const records = Array.from({ length: 1000 }, (_, k) => inst(k));
    expect(applyChanges(owner, records.slice(0, 1))).toBe(1);
    // The replica knows host-1 (with its first instance): from here on, deltas from its version.
    // (An owner that has set nothing is not held at all, and a whole state is never cut.)
    for (const d of owner.deltasFor(replica.digests(), 1200).deltas) replica.apply(d, 0);
    applyChanges(owner, records.slice(0, 999));
    expect(applyChanges(owner, records)).toBe(1);
    expect(owner.version).toBe(1000);
    // Datagram-sized deltas (1,200 bytes of entries each) until the replica holds everything.
    let rounds = 0;
    for (; rounds < 500; rounds++) {
      const { deltas } = owner.deltasFor(replica.digests(), 1200);
      if (deltas.length === 0) break;
      for (const d of deltas) {
        expect(encodeDelta(d).length).toBeLessThan(1400);
        expect(replica.apply(d, 0).ok).toBe(true);
      }
    }
    const got = instancesFromEntries(replica.entriesOf('host-1') ?? []);
    expect(got.invalid).toEqual([]);
    expect(got.records.map((r) => r.id).sort()).toEqual(records.map((r) => r.id).sort());
  });

  it('a health flip is one small status entry, and that is all a replica that was current receives', () => {
    const owner = new StateStore('host-1', 1);
    const records = Array.from({ length: 300 }, (_, k) => inst(k));
    applyChanges(owner, records);
    const replica = new StateStore('host-2', 1);
    for (const d of owner.deltasFor(replica.digests(), Infinity).deltas) replica.apply(d, 0);
    const flipped = records.map((r, k) => (k === 17 ? { ...r, status: 'critical' as const } : r));
    expect(applyChanges(owner, flipped)).toBe(1);
    const { deltas } = owner.deltasFor(replica.digests(), 1200);
    expect(deltas).toHaveLength(1);
    expect(deltas[0]?.entries.map((e) => e.key)).toEqual([statusKey('web-17')]);
    const bytes = encodeDelta(deltas[0]!).length;
    expect(bytes).toBeLessThan(40); // the status, not the instance (about 64) nor 300 of them
    for (const d of deltas) replica.apply(d, 0);
    expect(instancesFromEntries(replica.entriesOf('host-1') ?? []).records.find((r) => r.id === 'web-17')?.status).toBe('critical');
    // Back to passing, and into maintenance: each again the status entry alone.
    expect(instanceChanges(held(owner), records).map((c) => c.key)).toEqual([statusKey('web-17')]);
    const maint = records.map((r, k) => (k === 17 ? { ...r, status: 'maintenance' as const } : r));
    applyChanges(owner, maint);
    for (const d of owner.deltasFor(replica.digests(), 1200).deltas) replica.apply(d, 0);
    expect(instancesFromEntries(replica.entriesOf('host-1') ?? []).records.find((r) => r.id === 'web-17')?.status).toBe('maintenance');
  });

  it('a change beyond the status rewrites the instance (with its status now); a deregistration deletes both entries, the instance first', () => {
    const owner = new StateStore('host-1', 1);
    applyChanges(owner, [inst(1), inst(2)]);
    applyChanges(owner, [inst(1, 'warning'), inst(2)]);
    const retagged = { ...inst(1, 'critical'), tags: ['v3'] };
    const changes = instanceChanges(held(owner), [retagged, inst(2)]);
    expect(changes.map((c) => [c.key, c.value === null])).toEqual([
      [instanceKey('web-1'), false],
      [statusKey('web-1'), false],
    ]);
    applyChanges(owner, [retagged, inst(2)]);
    expect(instancesFromEntries(owner.entriesOf('host-1') ?? []).records.find((r) => r.id === 'web-1')).toEqual(retagged);
    expect(instanceChanges(held(owner), [inst(2)])).toEqual([
      { key: instanceKey('web-1'), value: null },
      { key: statusKey('web-1'), value: null },
    ]);
    // Every prefix of a delta (how a cut one arrives) shows each instance with a status it had.
    applyChanges(owner, [inst(2)]);
    applyChanges(owner, [inst(1, 'critical'), inst(2, 'warning')]);
    const all = owner.entriesOf('host-1') ?? [];
    for (let n = 0; n <= all.length; n++) {
      // web-1 was registered again as critical: its old status entry is gone first; web-2 went warning.
      for (const r of instancesFromEntries(all.slice(0, n)).records) expect(r.id === 'web-1' ? ['critical'] : ['passing', 'warning']).toContain(r.status);
    }
  });

  it('reserves c: for per-check entries: not the registry\'s, skipped when reading instances', () => {
    expect(CHECK_KEY_PREFIX).toBe('c:');
    expect(STATUS_KEY_PREFIX).not.toBe(CHECK_KEY_PREFIX);
    const got = instancesFromEntries([
      { key: instanceKey('web-1'), value: encodeInstanceEntry(inst(1)) },
      { key: 'c:web-1:http', value: new Uint8Array([1, 2]) },
      { key: statusKey('web-1'), value: encodeStatusEntry('critical') },
      { key: statusKey('web-3'), value: encodeStatusEntry('critical') },
    ]);
    expect(got.invalid).toEqual([]);
    expect(got.records.map((r) => [r.id, r.status])).toEqual([['web-1', 'critical']]);
  });

  it('a deregistration deletes its entry, and entries that are not valid instances are reported, not thrown', () => {
    const owner = new StateStore('host-1', 1);
    applyChanges(owner, [inst(1), inst(2)]);
    expect(instanceChanges(held(owner), [inst(2)])).toEqual([{ key: instanceKey('web-1'), value: null }]);
    const got = instancesFromEntries([
      { key: instanceKey('web-1'), value: encodeInstanceEntry(inst(1)) },
      { key: instanceKey('web-9'), value: encodeInstanceEntry(inst(1)) },
      { key: instanceKey('junk'), value: new Uint8Array([1, 2, 3]) },
      { key: 'tags', value: new Uint8Array([1]) },
    ]);
    expect(got.records.map((r) => r.id)).toEqual(['web-1']);
    expect(got.invalid.map((i) => i.key)).toEqual([instanceKey('web-9'), instanceKey('junk')]);
  });
});
