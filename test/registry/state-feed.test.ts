/**
 * The ServiceIndex fed from the state layer (src/registry/state-feed.ts): instances from entries,
 * liveness from membership, one entry changing one instance.
 */
import { describe, expect, it } from 'vitest';
import type { MembershipEvent } from '../../src/membership/types.js';
import { instanceEntries, instanceKey, statusKey } from '../../src/registry/entries.js';
import { encodeStatusEntry } from '../../src/registry/payload.js';
import { ServiceIndex } from '../../src/registry/service-index.js';
import { RegistryFeed } from '../../src/registry/state-feed.js';
import type { StateEntry } from '../../src/state/types.js';
import { record, view } from './support.js';

const member = (type: 'member-join' | 'member-suspect' | 'member-alive' | 'member-dead' | 'member-reap' | 'member-update', name: string, host = '10.0.0.9'): MembershipEvent => {
  const status = type === 'member-suspect' ? 'suspect' : type === 'member-dead' ? 'dead' : 'alive';
  return { type, member: { ...view(name, null, { status, host }) }, from: 'x' } as MembershipEvent;
};
const update = (node: string, changed: StateEntry[]): MembershipEvent => ({ type: 'state-update', node, changed });
const tombstone = (id: string): StateEntry => ({ key: instanceKey(id), value: new Uint8Array(0), version: 99, deleted: true });

function fed(): { index: ServiceIndex; feed: RegistryFeed } {
  const index = new ServiceIndex();
  return { index, feed: new RegistryFeed(index, 'self') };
}

describe('RegistryFeed', () => {
  it('holds entries that arrive before the member, and indexes them once it joins', () => {
    const { index, feed } = fed();
    feed.onEvent(update('n1', instanceEntries([record({ id: 'a', name: 'web' }), record({ id: 'b', name: 'web' })])));
    expect(index.lookup('web')).toEqual([]);
    feed.onEvent(member('member-join', 'n1'));
    expect(index.lookup('web').map((i) => [i.id, i.address])).toEqual([
      ['a', '10.0.0.9'],
      ['b', '10.0.0.9'],
    ]);
  });

  it('indexes a node its member events came before (a state update carrying the member view)', () => {
    const { index, feed } = fed();
    const v = view('n1', null, { host: '10.0.0.3' });
    feed.onEvent({ type: 'state-update', node: 'n1', changed: instanceEntries([record({ id: 'a', name: 'web' })]), member: v });
    expect(index.lookup('web').map((i) => i.address)).toEqual(['10.0.0.3']);
  });

  it('combines an instance with its status entry: a flip is one status entry, a status alone is nothing, deletion removes both', () => {
    const { index, feed } = fed();
    feed.onEvent(member('member-join', 'n1'));
    feed.onEvent(update('n1', instanceEntries([record({ id: 'a', name: 'web' }), record({ id: 'b', name: 'db' })])));
    const dbIndex = index.indexOf('db');
    const status = (id: string, s: 'passing' | 'critical' | 'maintenance', version: number): StateEntry => ({ key: statusKey(id), value: encodeStatusEntry(s), version, deleted: false });
    feed.onEvent(update('n1', [status('a', 'critical', 3)]));
    expect(index.lookup('web')).toEqual([]);
    expect(index.lookup('web', { status: 'critical' }).map((i) => [i.id, i.port])).toEqual([['a', record({ id: 'a', name: 'web' }).port]]);
    expect(index.indexOf('db')).toBe(dbIndex);
    // A status entry that leaves the status as it is changes nothing in the index.
    const webIndex = index.indexOf('web');
    feed.onEvent(update('n1', [status('a', 'critical', 4)]));
    expect(index.indexOf('web')).toBe(webIndex);
    // The record rewritten keeps the status entry's status; the status entry going back wins.
    feed.onEvent(update('n1', instanceEntries([record({ id: 'a', name: 'web', tags: ['x'] })], 5)));
    expect(index.lookup('web', { status: 'critical' }).map((i) => i.tags)).toEqual([['x']]);
    feed.onEvent(update('n1', [status('a', 'maintenance', 6)]));
    expect(index.lookup('web', { status: 'maintenance' }).map((i) => i.id)).toEqual(['a']);
    // A status without its instance is nothing; deleting the instance removes it whatever its status.
    feed.onEvent(update('n1', [status('zz', 'passing', 7)]));
    expect(feed.recordsOf('n1').map((r) => r.id).sort()).toEqual(['a', 'b']);
    feed.onEvent(update('n1', [tombstone('a'), { key: statusKey('a'), value: new Uint8Array(0), version: 9, deleted: true }]));
    expect(index.lookup('web', { status: 'any' })).toEqual([]);
    // Registered again: the old status is gone.
    feed.onEvent(update('n1', instanceEntries([record({ id: 'a', name: 'web' })], 10)));
    expect(index.lookup('web').map((i) => i.id)).toEqual(['a']);
  });

  it('changes one instance for one entry: the other names keep their index and their objects', () => {
    const { index, feed } = fed();
    feed.onEvent(member('member-join', 'n1'));
    feed.onEvent(update('n1', instanceEntries([record({ id: 'a', name: 'web' }), record({ id: 'b', name: 'db' })])));
    const dbIndex = index.indexOf('db');
    const db = index.lookup('db');
    const webIndex = index.indexOf('web');
    feed.onEvent(update('n1', instanceEntries([record({ id: 'a', name: 'web', status: 'critical' })], 3)));
    expect(index.lookup('web')).toEqual([]);
    expect(index.lookup('web', { status: 'critical' }).map((i) => i.id)).toEqual(['a']);
    expect(index.indexOf('web')).toBeGreaterThan(webIndex);
    expect(index.indexOf('db')).toBe(dbIndex);
    expect(index.lookup('db')).toBe(db);
    feed.onEvent(update('n1', [tombstone('b')]));
    expect(index.lookup('db')).toEqual([]);
    expect(feed.recordsOf('n1').map((r) => r.id)).toEqual(['a']);
  });

  it('follows liveness: suspect last, dead out (entries kept), back on rejoin, gone on reap', () => {
    const { index, feed } = fed();
    feed.onEvent(member('member-join', 'n1'));
    feed.onEvent(member('member-join', 'n2'));
    feed.onEvent(update('n1', instanceEntries([record({ id: 'a', name: 'web' })])));
    feed.onEvent(update('n2', instanceEntries([record({ id: 'b', name: 'web' })])));
    feed.onEvent(member('member-suspect', 'n1'));
    expect(index.lookup('web').map((i) => i.id)).toEqual(['b', 'a']);
    feed.onEvent(member('member-dead', 'n1'));
    expect(index.lookup('web').map((i) => i.id)).toEqual(['b']);
    feed.onEvent(member('member-join', 'n1'));
    expect(index.lookup('web').map((i) => i.id)).toEqual(['a', 'b']);
    feed.onEvent(member('member-reap', 'n1'));
    expect(index.lookup('web').map((i) => i.id)).toEqual(['b']);
    feed.onEvent(member('member-join', 'n1'));
    expect(index.lookup('web').map((i) => i.id)).toEqual(['b']);
  });

  it('re-resolves empty addresses when the node moves, and ignores its own node', () => {
    const { index, feed } = fed();
    feed.onEvent(member('member-join', 'n1', '10.0.0.1'));
    feed.onEvent(update('n1', instanceEntries([record({ id: 'a', name: 'web' }), record({ id: 'b', name: 'web', address: '192.0.2.7' })])));
    feed.onEvent(member('member-update', 'n1', '10.0.0.2'));
    expect(index.lookup('web').map((i) => i.address)).toEqual(['10.0.0.2', '192.0.2.7']);
    feed.onEvent(member('member-join', 'self'));
    feed.onEvent(update('self', instanceEntries([record({ id: 'z', name: 'web' })])));
    expect(index.lookup('web')).toHaveLength(2);
  });

  it('leaves out and counts an entry that is not a valid instance (or holds another id)', () => {
    const { index, feed } = fed();
    const reasons: string[] = [];
    index.onInvalidPayload = (_m, reason) => reasons.push(reason);
    feed.onEvent(member('member-join', 'n1'));
    const [good] = instanceEntries([record({ id: 'a', name: 'web' })]);
    feed.onEvent(update('n1', [{ key: 'i:b', value: new Uint8Array([1, 2, 3]), version: 1, deleted: false }, { ...good!, key: 'i:c' }, { key: 'tags', value: new Uint8Array([1]), version: 3, deleted: false }]));
    expect(index.lookup('web')).toEqual([]);
    expect(index.counters.invalidPayloads).toBe(2);
    expect(reasons[1]).toMatch(/entry i:c: holds instance a/);
  });
});
