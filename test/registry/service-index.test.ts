import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAYLOAD_MAGIC, PAYLOAD_VERSION } from '../../src/registry/payload.js';
import { ServiceIndex, diffInstances } from '../../src/registry/service-index.js';
import type { HealthStatus, LocalInstanceRecord, ServiceInstance, ServiceSummary } from '../../src/registry/types.js';
import { bytes, event, instance, keys, payloadOf, record, view } from './support.js';

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

/** An index with a listener that records every (name, index) call. */
function indexWithLog(): { idx: ServiceIndex; calls: [string, number][] } {
  const idx = new ServiceIndex();
  const calls: [string, number][] = [];
  idx.onChange((name, index) => calls.push([name, index]));
  return { idx, calls };
}

const web = (id: string, over: Partial<LocalInstanceRecord> = {}): LocalInstanceRecord => record({ id, name: 'web', port: 8080, ...over });
const db = (id: string, over: Partial<LocalInstanceRecord> = {}): LocalInstanceRecord => record({ id, name: 'db', port: 5432, ...over });

// ---------------------------------------------------------------------------------------------
// membership events
// ---------------------------------------------------------------------------------------------

describe('ServiceIndex: membership events move instances in and out', () => {
  it('indexes a joining node\'s instances and returns the passing ones by default', () => {
    const idx = new ServiceIndex();
    idx.apply(event('member-join', 'n1', [web('w1'), web('w2', { status: 'critical' }), web('w3', { status: 'warning' }), db('d1')]));
    expect(keys(idx.lookup('web'))).toEqual(['n1/w1']);
    expect(keys(idx.lookup('db'))).toEqual(['n1/d1']);
    expect(idx.lookup('nope')).toEqual([]);
    const [w1] = idx.lookup('web');
    expect(w1).toEqual({ id: 'w1', name: 'web', node: 'n1', address: '10.0.0.2', port: 8080, tags: [], meta: {}, status: 'passing' });
    expect(idx.size).toBe(4);
    expect(idx.nodeNames()).toEqual(['n1']);
    expect(idx.instancesOf('n1').map((i) => i.id)).toEqual(['w1', 'w2', 'w3', 'd1']);
    expect(idx.instancesOf('n9')).toEqual([]);
  });

  it('orders alive nodes before suspect ones (then by node and id), and restores on alive', () => {
    const idx = new ServiceIndex();
    idx.apply(event('member-join', 'n1', [web('b'), web('a')]));
    idx.apply(event('member-join', 'n2', [web('c')]));
    idx.apply(event('member-join', 'n3', [web('d')]));
    expect(keys(idx.lookup('web'))).toEqual(['n1/a', 'n1/b', 'n2/c', 'n3/d']);
    idx.apply(event('member-suspect', 'n1', [web('b'), web('a')]));
    expect(keys(idx.lookup('web'))).toEqual(['n2/c', 'n3/d', 'n1/a', 'n1/b']);
    const first = idx.lookup('web')[0]!;
    const last = idx.lookup('web')[3]!;
    expect(idx.isOnSuspectNode(first)).toBe(false);
    expect(idx.isOnSuspectNode(last)).toBe(true);
    idx.apply(event('member-suspect', 'n2', [web('c')]));
    expect(keys(idx.lookup('web'))).toEqual(['n3/d', 'n1/a', 'n1/b', 'n2/c']);
    idx.apply(event('member-alive', 'n1', [web('b'), web('a')]));
    expect(keys(idx.lookup('web'))).toEqual(['n1/a', 'n1/b', 'n3/d', 'n2/c']);
    expect(idx.isOnSuspectNode(last)).toBe(false);
    // Suspect ordering applies to filtered lookups too.
    expect(keys(idx.lookup('web', { status: 'any' }))).toEqual(['n1/a', 'n1/b', 'n3/d', 'n2/c']);
  });

  for (const gone of ['member-dead', 'member-leave', 'member-reap'] as const) {
    it(`drops every instance of a node on ${gone} and brings them back on rejoin`, () => {
      const idx = new ServiceIndex();
      idx.apply(event('member-join', 'n1', [web('w1'), db('d1')]));
      idx.apply(event('member-join', 'n2', [web('w2')]));
      idx.apply(event(gone, 'n1', [web('w1'), db('d1')]));
      expect(keys(idx.lookup('web'))).toEqual(['n2/w2']);
      expect(idx.lookup('db')).toEqual([]);
      expect(idx.lookup('db', { status: 'any' })).toEqual([]);
      expect(idx.instancesOf('n1')).toEqual([]);
      expect(idx.nodeNames()).toEqual(['n2']);
      expect(idx.size).toBe(1);
      idx.apply(event('member-join', 'n1', [web('w1'), db('d1')], { incarnation: 2 }));
      expect(keys(idx.lookup('web'))).toEqual(['n1/w1', 'n2/w2']);
      expect(keys(idx.lookup('db'))).toEqual(['n1/d1']);
    });
  }

  it('a suspect or update event whose view says dead or left removes the node', () => {
    const idx = new ServiceIndex();
    idx.apply(event('member-join', 'n1', [web('w1')]));
    idx.apply(event('member-update', 'n1', [web('w1')], { status: 'dead' }));
    expect(idx.lookup('web')).toEqual([]);
    idx.apply(event('member-join', 'n1', [web('w1')]));
    idx.applyMember(view('n1', payloadOf([web('w1')]), { status: 'left' }));
    expect(idx.lookup('web')).toEqual([]);
  });

  it('a reap after a dead changes nothing more', () => {
    const { idx, calls } = indexWithLog();
    idx.apply(event('member-join', 'n1', [web('w1')]));
    idx.apply(event('member-dead', 'n1', [web('w1')]));
    const before = idx.indexOf('web');
    calls.length = 0;
    idx.apply(event('member-reap', 'n1', [web('w1')]));
    expect(idx.indexOf('web')).toBe(before);
    expect(calls).toEqual([]);
  });

  it('ignores events that are not about a member\'s liveness or state', () => {
    const { idx, calls } = indexWithLog();
    idx.apply(event('member-join', 'n1', [web('w1')]));
    calls.length = 0;
    const last = idx.lastIndex;
    idx.apply({ type: 'self-refute', incarnation: 3, accusedBy: 'n2' });
    idx.apply({ type: 'push-pull-complete', peer: { host: '10.0.0.9', port: 7946 }, join: true, members: 3 });
    idx.apply({ type: 'leave-disseminated' });
    expect(idx.lastIndex).toBe(last);
    expect(calls).toEqual([]);
    expect(keys(idx.lookup('web'))).toEqual(['n1/w1']);
  });

  it('an update replaces a node\'s instances: added, changed and removed ones', () => {
    const idx = new ServiceIndex();
    idx.apply(event('member-join', 'n1', [web('w1'), web('w2'), db('d1')]));
    idx.apply(event('member-update', 'n1', [web('w1', { port: 9000 }), web('w3'), db('d1')]));
    expect(idx.lookup('web').map((i) => `${i.id}:${i.port}`)).toEqual(['w1:9000', 'w3:8080']);
    expect(keys(idx.lookup('db'))).toEqual(['n1/d1']);
  });

  it('an instance that changes its name moves from one name to the other', () => {
    const { idx, calls } = indexWithLog();
    idx.apply(event('member-join', 'n1', [web('x')]));
    calls.length = 0;
    const webBefore = idx.indexOf('web');
    idx.apply(event('member-update', 'n1', [db('x')]));
    expect(idx.lookup('web')).toEqual([]);
    expect(keys(idx.lookup('db'))).toEqual(['n1/x']);
    expect(idx.indexOf('web')).toBeGreaterThan(webBefore);
    expect(calls.map(([n]) => n).sort()).toEqual(['db', 'web']);
    expect(idx.services()).toEqual([{ name: 'db', instances: 1, passing: 1 }]);
  });

  it('a "__proto__" meta key is data: indexed, compared and diffed like any other', () => {
    const { idx, calls } = indexWithLog();
    const meta = (v: string): Record<string, string> => JSON.parse(`{"__proto__": "${v}"}`) as Record<string, string>;
    idx.apply(event('member-join', 'n1', [web('a', { meta: meta('1') })]));
    const [a] = idx.lookup('web');
    expect(Object.getOwnPropertyDescriptor(a!.meta, '__proto__')?.value).toBe('1');
    expect(Object.getPrototypeOf(a!.meta)).toBe(Object.prototype);
    calls.length = 0;
    idx.apply(event('member-update', 'n1', [web('a', { meta: meta('1') })]));
    expect(calls).toEqual([]);
    idx.apply(event('member-update', 'n1', [web('a', { meta: meta('2') })]));
    expect(calls).toHaveLength(1);
    idx.apply(event('member-update', 'n1', [web('a', { meta: { other: '2' } })]));
    expect(calls).toHaveLength(2);
    expect(Object.hasOwn(idx.lookup('web')[0]!.meta, '__proto__')).toBe(false);
  });

  it('the same instance id on two nodes is two instances', () => {
    const idx = new ServiceIndex();
    idx.apply(event('member-join', 'n1', [web('same')]));
    idx.apply(event('member-join', 'n2', [web('same')]));
    expect(keys(idx.lookup('web'))).toEqual(['n1/same', 'n2/same']);
    idx.apply(event('member-dead', 'n1', null));
    expect(keys(idx.lookup('web'))).toEqual(['n2/same']);
  });

  it('a node without a payload, or with another application\'s, has no instances and is not counted invalid', () => {
    const idx = new ServiceIndex();
    idx.apply(event('member-join', 'n1', null));
    idx.apply(event('member-join', 'n2', bytes(0x01, 0x02, 0x03)));
    idx.apply(event('member-join', 'n3', bytes(PAYLOAD_MAGIC)));
    expect(idx.size).toBe(0);
    expect(idx.services()).toEqual([]);
    expect(idx.counters.invalidPayloads).toBe(0);
    // A node that drops its payload loses its instances.
    idx.apply(event('member-join', 'n4', [web('w1')]));
    idx.apply(event('member-update', 'n4', null));
    expect(idx.lookup('web')).toEqual([]);
    expect(idx.instancesOf('n4')).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// filters and addresses
// ---------------------------------------------------------------------------------------------

describe('ServiceIndex.lookup filters', () => {
  const idx = new ServiceIndex();
  idx.apply(
    event('member-join', 'n1', [
      web('p1', { tags: ['v2', 'primary'] }),
      web('p2', { tags: ['v2'] }),
      web('p3', { tags: [] }),
      web('w1', { status: 'warning', tags: ['v2'] }),
      web('c1', { status: 'critical', tags: ['v2', 'primary'] }),
      web('m1', { status: 'maintenance' }),
    ]),
  );

  it('tags: every given tag must be on the instance', () => {
    expect(idx.lookup('web', { tags: ['v2'] }).map((i) => i.id)).toEqual(['p1', 'p2']);
    expect(idx.lookup('web', { tags: ['v2', 'primary'] }).map((i) => i.id)).toEqual(['p1']);
    expect(idx.lookup('web', { tags: ['primary', 'v2'] }).map((i) => i.id)).toEqual(['p1']);
    expect(idx.lookup('web', { tags: ['v2', 'nope'] })).toEqual([]);
    expect(idx.lookup('web', { tags: [] }).map((i) => i.id)).toEqual(['p1', 'p2', 'p3']);
  });

  it("status: 'any', one status, or a list", () => {
    expect(idx.lookup('web', { status: 'any' }).map((i) => i.id)).toEqual(['c1', 'm1', 'p1', 'p2', 'p3', 'w1']);
    expect(idx.lookup('web', { status: 'passing' }).map((i) => i.id)).toEqual(['p1', 'p2', 'p3']);
    expect(idx.lookup('web', { status: 'warning' }).map((i) => i.id)).toEqual(['w1']);
    expect(idx.lookup('web', { status: 'critical' }).map((i) => i.id)).toEqual(['c1']);
    expect(idx.lookup('web', { status: 'maintenance' }).map((i) => i.id)).toEqual(['m1']);
    expect(idx.lookup('web', { status: ['passing', 'warning'] }).map((i) => i.id)).toEqual(['p1', 'p2', 'p3', 'w1']);
    expect(idx.lookup('web', { status: ['critical', 'maintenance'] }).map((i) => i.id)).toEqual(['c1', 'm1']);
    expect(idx.lookup('web', { status: [] })).toEqual([]);
  });

  it('tags and status combine', () => {
    expect(idx.lookup('web', { status: 'any', tags: ['v2'] }).map((i) => i.id)).toEqual(['c1', 'p1', 'p2', 'w1']);
    expect(idx.lookup('web', { status: ['critical', 'warning'], tags: ['primary'] }).map((i) => i.id)).toEqual(['c1']);
  });

  it('results are frozen, filtered or not; the default result is shared until something changes', () => {
    const plain = idx.lookup('web');
    expect(Object.isFrozen(plain)).toBe(true);
    expect(idx.lookup('web')).toBe(plain);
    for (const opts of [{ tags: ['v2'] }, { status: 'any' as const }, { status: ['warning' as HealthStatus] }, { status: 'critical' as const, tags: ['primary'] }]) {
      const r = idx.lookup('web', opts);
      expect(Object.isFrozen(r)).toBe(true);
      expect(() => (r as ServiceInstance[]).push(instance())).toThrow(TypeError);
    }
    expect(Object.isFrozen(idx.lookup('unknown'))).toBe(true);
    for (const i of plain) {
      expect(Object.isFrozen(i)).toBe(true);
      expect(Object.isFrozen(i.tags)).toBe(true);
    }
  });

  it('services() counts instances on live nodes and the passing ones, sorted by name', () => {
    const two = new ServiceIndex();
    two.apply(event('member-join', 'n1', [web('a'), web('b', { status: 'critical' }), db('d')]));
    two.apply(event('member-join', 'n2', [record({ id: 'x', name: 'api', status: 'warning' }), web('c')]));
    expect(two.services()).toEqual<ServiceSummary[]>([
      { name: 'api', instances: 1, passing: 0 },
      { name: 'db', instances: 1, passing: 1 },
      { name: 'web', instances: 3, passing: 2 },
    ]);
    two.apply(event('member-suspect', 'n2', [record({ id: 'x', name: 'api', status: 'warning' }), web('c')]));
    expect(two.services().find((s) => s.name === 'web')).toEqual({ name: 'web', instances: 3, passing: 2 });
    two.apply(event('member-dead', 'n2', null));
    expect(two.services()).toEqual<ServiceSummary[]>([
      { name: 'db', instances: 1, passing: 1 },
      { name: 'web', instances: 2, passing: 1 },
    ]);
  });
});

describe('ServiceIndex addresses', () => {
  it('an empty address resolves to the node\'s host; an explicit one is kept', () => {
    const idx = new ServiceIndex();
    idx.apply(event('member-join', 'n1', [web('a', { address: '' }), web('b', { address: 'db.internal' })], { host: '192.168.1.5' }));
    expect(idx.lookup('web').map((i) => `${i.id}@${i.address}`)).toEqual(['a@192.168.1.5', 'b@db.internal']);
  });

  it('a host change re-resolves empty addresses only, and raises the index only then', () => {
    const { idx, calls } = indexWithLog();
    idx.apply(event('member-join', 'n1', [web('a')], { host: '192.168.1.5' }));
    idx.apply(event('member-join', 'n2', [db('b', { address: '10.9.9.9' })], { host: '192.168.1.6' }));
    const webIdx = idx.indexOf('web');
    const dbIdx = idx.indexOf('db');
    calls.length = 0;
    idx.apply(event('member-update', 'n1', [web('a')], { host: '192.168.1.50' }));
    expect(idx.lookup('web')[0]!.address).toBe('192.168.1.50');
    expect(idx.indexOf('web')).toBeGreaterThan(webIdx);
    expect(calls).toEqual([['web', idx.indexOf('web')]]);
    calls.length = 0;
    idx.apply(event('member-update', 'n2', [db('b', { address: '10.9.9.9' })], { host: '192.168.1.60' }));
    expect(idx.lookup('db')[0]!.address).toBe('10.9.9.9');
    expect(idx.indexOf('db')).toBe(dbIdx);
    expect(calls).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// modify indexes and listeners
// ---------------------------------------------------------------------------------------------

describe('ServiceIndex modify indexes', () => {
  it('a name never seen has index 1; the first index handed out is above it', () => {
    const idx = new ServiceIndex();
    expect(idx.indexOf('never')).toBe(1);
    expect(idx.lastIndex).toBe(1);
    idx.apply(event('member-join', 'n1', [web('a')]));
    expect(idx.indexOf('web')).toBe(2);
    expect(idx.lastIndex).toBe(2);
    expect(idx.indexOf('never')).toBe(1);
  });

  it('rises only for the names that changed, and tells the listeners once per name', () => {
    const { idx, calls } = indexWithLog();
    idx.apply(event('member-join', 'n1', [web('a'), db('d')]));
    expect(calls.map(([n]) => n).sort()).toEqual(['db', 'web']);
    const webIdx = idx.indexOf('web');
    const dbIdx = idx.indexOf('db');
    calls.length = 0;
    idx.apply(event('member-update', 'n1', [web('a', { tags: ['new'] }), db('d')]));
    expect(idx.indexOf('web')).toBeGreaterThan(webIdx);
    expect(idx.indexOf('db')).toBe(dbIdx);
    expect(calls).toEqual([['web', idx.indexOf('web')]]);
    expect(idx.lastIndex).toBe(idx.indexOf('web'));
  });

  it('re-applying an unchanged payload changes nothing and calls no listener', () => {
    const { idx, calls } = indexWithLog();
    const records = [web('a', { meta: { v: '1' } }), db('d')];
    idx.apply(event('member-join', 'n1', records));
    const before = { web: idx.indexOf('web'), db: idx.indexOf('db'), last: idx.lastIndex, result: idx.lookup('web') };
    calls.length = 0;
    // The same records, freshly encoded (equal bytes, different array), in every live event type.
    idx.apply(event('member-update', 'n1', records));
    idx.apply(event('member-alive', 'n1', records, { incarnation: 2 }));
    idx.apply(event('member-join', 'n1', records, { incarnation: 3 }));
    expect(calls).toEqual([]);
    expect(idx.indexOf('web')).toBe(before.web);
    expect(idx.indexOf('db')).toBe(before.db);
    expect(idx.lastIndex).toBe(before.last);
    expect(idx.lookup('web')).toBe(before.result);
  });

  it('a payload whose bytes differ but whose instances are the same changes nothing either', () => {
    const { idx, calls } = indexWithLog();
    idx.apply(event('member-join', 'n1', [web('a'), db('d')]));
    calls.length = 0;
    const last = idx.lastIndex;
    // Reordered records encode differently but index the same instances.
    idx.apply(event('member-update', 'n1', [db('d'), web('a')]));
    expect(calls).toEqual([]);
    expect(idx.lastIndex).toBe(last);
  });

  it('suspect and alive raise the index of the node\'s names (the order changed), once each', () => {
    const { idx, calls } = indexWithLog();
    idx.apply(event('member-join', 'n1', [web('a'), db('d')]));
    idx.apply(event('member-join', 'n2', [web('b')]));
    calls.length = 0;
    idx.apply(event('member-suspect', 'n2', [web('b')]));
    expect(calls).toEqual([['web', idx.indexOf('web')]]);
    calls.length = 0;
    idx.apply(event('member-suspect', 'n2', [web('b')]));
    expect(calls).toEqual([]);
    idx.apply(event('member-alive', 'n2', [web('b')]));
    expect(calls).toEqual([['web', idx.indexOf('web')]]);
  });

  it('indexes are strictly increasing across changes, and kept for names that emptied', () => {
    const { idx, calls } = indexWithLog();
    idx.apply(event('member-join', 'n1', [web('a')]));
    idx.apply(event('member-join', 'n2', [web('b')]));
    idx.apply(event('member-dead', 'n1', null));
    idx.apply(event('member-dead', 'n2', null));
    const seen = calls.map(([, i]) => i);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(new Set(seen).size).toBe(seen.length);
    expect(idx.indexOf('web')).toBe(seen[seen.length - 1]);
    expect(idx.indexOf('web')).toBeGreaterThan(1);
    expect(idx.services()).toEqual([]);
  });

  it('an unsubscribed listener is not called', () => {
    const idx = new ServiceIndex();
    const calls: string[] = [];
    const off = idx.onChange((name) => calls.push(name));
    idx.apply(event('member-join', 'n1', [web('a')]));
    off();
    idx.apply(event('member-join', 'n2', [web('b')]));
    expect(calls).toEqual(['web']);
  });

  it('setNode (the agent for itself) indexes records directly and notifies', () => {
    const { idx, calls } = indexWithLog();
    idx.setNode('self', 'alive', '127.0.0.1', [web('a'), web('b', { address: '10.1.1.1' })]);
    expect(idx.lookup('web').map((i) => `${i.node}/${i.id}@${i.address}`)).toEqual(['self/a@127.0.0.1', 'self/b@10.1.1.1']);
    expect(calls).toEqual([['web', idx.indexOf('web')]]);
    idx.setNode('self', 'alive', '127.0.0.1', []);
    expect(idx.lookup('web')).toEqual([]);
    expect(idx.nodeNames()).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// invalid payloads
// ---------------------------------------------------------------------------------------------

describe('ServiceIndex and invalid payloads', () => {
  const garbage = bytes(PAYLOAD_MAGIC, PAYLOAD_VERSION, 1, 0);

  it('counts an invalid payload, reports it, and ignores the node\'s instances', () => {
    const idx = new ServiceIndex();
    const reports: [string, string][] = [];
    idx.onInvalidPayload = (member, reason) => reports.push([member, reason]);
    idx.apply(event('member-join', 'good', [web('a')]));
    idx.apply(event('member-join', 'bad', garbage));
    expect(idx.counters.invalidPayloads).toBe(1);
    expect(reports).toHaveLength(1);
    expect(reports[0]![0]).toBe('bad');
    expect(reports[0]![1].length).toBeGreaterThan(0);
    expect(keys(idx.lookup('web'))).toEqual(['good/a']);
    expect(idx.instancesOf('bad')).toEqual([]);
  });

  it('a node whose payload turns invalid loses its instances; a valid one brings them back', () => {
    const idx = new ServiceIndex();
    idx.apply(event('member-join', 'n1', [web('a')]));
    idx.apply(event('member-update', 'n1', garbage));
    expect(idx.lookup('web')).toEqual([]);
    expect(idx.counters.invalidPayloads).toBe(1);
    // The same invalid payload seen again (suspect, alive) is not decoded or counted again.
    idx.apply(event('member-suspect', 'n1', garbage));
    idx.apply(event('member-alive', 'n1', garbage));
    expect(idx.counters.invalidPayloads).toBe(1);
    idx.apply(event('member-update', 'n1', [web('a')]));
    expect(keys(idx.lookup('web'))).toEqual(['n1/a']);
  });

  it('each kind of malformed payload is counted', () => {
    const idx = new ServiceIndex();
    const bad = [
      bytes(PAYLOAD_MAGIC, 9, 0),
      bytes(PAYLOAD_MAGIC, PAYLOAD_VERSION, 0, 0xff),
      bytes(PAYLOAD_MAGIC, PAYLOAD_VERSION, 5),
      (() => {
        const b = payloadOf([web('a')])!.slice();
        b[b.length - 1] = 0xff; // metaCount
        return b;
      })(),
    ];
    bad.forEach((b, i) => idx.apply(event('member-join', `n${i}`, b)));
    expect(idx.counters.invalidPayloads).toBe(bad.length);
    expect(idx.size).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// diffInstances
// ---------------------------------------------------------------------------------------------

describe('diffInstances', () => {
  const a = instance({ id: 'a' });
  const b = instance({ id: 'b' });
  const c = instance({ id: 'c' });

  it('reports added, removed and updated instances by node and id', () => {
    const b2 = instance({ id: 'b', port: 81 });
    const d = instance({ id: 'a', node: 'n2' });
    const diff = diffInstances([a, b, c], [b2, c, d]);
    expect(diff.added).toEqual([d]);
    expect(diff.removed).toEqual([a]);
    expect(diff.updated).toEqual([b2]);
  });

  it('sees a change in any field: address, port, status, name, tags (and their order), meta', () => {
    const changes: Partial<ServiceInstance>[] = [
      { address: '10.0.0.2' },
      { port: 81 },
      { status: 'critical' },
      { name: 'other' },
      { tags: ['x'] },
      { meta: { k: 'v' } },
    ];
    for (const ch of changes) expect(diffInstances([a], [instance({ id: 'a', ...ch })]).updated).toHaveLength(1);
    const t1 = instance({ id: 't', tags: ['x', 'y'] });
    const t2 = instance({ id: 't', tags: ['y', 'x'] });
    expect(diffInstances([t1], [t2]).updated).toEqual([t2]);
    const m1 = instance({ id: 'm', meta: { k: '1', j: '2' } });
    expect(diffInstances([m1], [instance({ id: 'm', meta: { j: '2', k: '1' } })]).updated).toEqual([]);
    expect(diffInstances([m1], [instance({ id: 'm', meta: { k: '1', x: '2' } })]).updated).toHaveLength(1);
    expect(diffInstances([instance({ id: 'q', meta: { toString: 'x' } })], [instance({ id: 'q', meta: { other: 'x' } })]).updated).toHaveLength(1);
  });

  it('equal lists (even as different objects) diff to nothing; order does not matter', () => {
    expect(diffInstances([a, b], [instance({ id: 'b' }), instance({ id: 'a' })])).toEqual({ added: [], removed: [], updated: [] });
    expect(diffInstances([], [])).toEqual({ added: [], removed: [], updated: [] });
    expect(diffInstances([], [a, b])).toEqual({ added: [a, b], removed: [], updated: [] });
    expect(diffInstances([a, b], [])).toEqual({ added: [], removed: [a, b], updated: [] });
  });

  it('diffs consecutive lookup results of an index', () => {
    const idx = new ServiceIndex();
    idx.apply(event('member-join', 'n1', [web('a'), web('b')]));
    const r1 = idx.lookup('web');
    idx.apply(event('member-update', 'n1', [web('a', { port: 1 }), web('c')]));
    const diff = diffInstances(r1, idx.lookup('web'));
    expect(keys(diff.added)).toEqual(['n1/c']);
    expect(keys(diff.removed)).toEqual(['n1/b']);
    expect(diff.updated.map((i) => `${i.id}:${i.port}`)).toEqual(['a:1']);
  });
});

// ---------------------------------------------------------------------------------------------
// model test
// ---------------------------------------------------------------------------------------------

const NODES = ['n1', 'n2', 'n3'] as const;
const NAMES = ['alpha', 'beta'] as const;
const HOSTS = ['10.0.0.1', '10.0.0.2'] as const;

type Step =
  | { kind: 'set'; node: string; records: LocalInstanceRecord[] }
  | { kind: 'garbage'; node: string }
  | { kind: 'host'; node: string; host: string }
  | { kind: 'suspect'; node: string }
  | { kind: 'alive'; node: string }
  | { kind: 'gone'; node: string; how: 'member-dead' | 'member-leave' | 'member-reap' };

const arbModelRecord: fc.Arbitrary<LocalInstanceRecord> = fc.record({
  id: fc.constantFrom('i1', 'i2', 'i3'),
  name: fc.constantFrom(...NAMES),
  address: fc.constantFrom('', '192.168.0.9'),
  port: fc.constantFrom(80, 81),
  tags: fc.subarray(['x', 'y']),
  meta: fc.constantFrom({}, { v: '1' }),
  status: fc.constantFrom<HealthStatus>('passing', 'passing', 'warning', 'critical', 'maintenance'),
});

const arbNode = fc.constantFrom(...NODES);
const arbStep: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('set' as const), node: arbNode, records: fc.uniqueArray(arbModelRecord, { maxLength: 3, selector: (r) => r.id }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('garbage' as const), node: arbNode }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('host' as const), node: arbNode, host: fc.constantFrom(...HOSTS) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('suspect' as const), node: arbNode }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('alive' as const), node: arbNode }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('gone' as const), node: arbNode, how: fc.constantFrom('member-dead' as const, 'member-leave' as const, 'member-reap' as const) }) },
);

interface ModelNode {
  status: 'alive' | 'suspect';
  host: string;
  payload: Uint8Array | null;
  /** What the payload decodes to (nothing for an invalid one). */
  records: readonly LocalInstanceRecord[];
}

const GARBAGE = bytes(PAYLOAD_MAGIC, PAYLOAD_VERSION, 2, 1, 0x61);

/** lookup(name, {status: 'any'}) computed from scratch, with each instance's suspect flag. */
function modelAll(nodes: ReadonlyMap<string, ModelNode>, name: string): { inst: ServiceInstance; suspect: boolean }[] {
  const out: { inst: ServiceInstance; suspect: boolean }[] = [];
  for (const [node, m] of nodes) {
    for (const r of m.records) {
      if (r.name !== name) continue;
      out.push({
        inst: { id: r.id, name: r.name, node, address: r.address === '' ? m.host : r.address, port: r.port, tags: r.tags, meta: r.meta, status: r.status },
        suspect: m.status === 'suspect',
      });
    }
  }
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return out.sort((a, b) => Number(a.suspect) - Number(b.suspect) || cmp(a.inst.node, b.inst.node) || cmp(a.inst.id, b.inst.id));
}

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

describe('ServiceIndex model test', () => {
  it('after every step, lookups, summaries, indexes and notifications agree with a model computed from scratch', () => {
    fc.assert(
      fc.property(fc.array(arbStep, { minLength: 1, maxLength: 40 }), (steps) => {
        const { idx, calls } = indexWithLog();
        const model = new Map<string, ModelNode>();
        let invalid = 0;
        const snapshot = (name: string): string => JSON.stringify(modelAll(model, name));
        const prevSnap = new Map<string, string>(NAMES.map((n) => [n, snapshot(n)]));
        const prevIndex = new Map<string, number>(NAMES.map((n) => [n, idx.indexOf(n)]));

        for (const step of steps) {
          calls.length = 0;
          const m = model.get(step.node);
          switch (step.kind) {
            case 'set':
            case 'garbage': {
              const payload = step.kind === 'set' ? payloadOf(step.records) : GARBAGE;
              const records = step.kind === 'set' ? step.records : [];
              const host = m?.host ?? HOSTS[0];
              const status = m?.status ?? 'alive';
              if (step.kind === 'garbage' && (m === undefined || !sameBytes(m.payload, payload) || m.host !== host)) invalid++;
              idx.apply(event(m === undefined ? 'member-join' : 'member-update', step.node, payload, { status, host }));
              model.set(step.node, { status, host, payload, records });
              break;
            }
            case 'host': {
              if (m === undefined) continue;
              if (m.host !== step.host && sameBytes(m.payload, GARBAGE)) invalid++;
              idx.apply(event('member-update', step.node, m.payload, { status: m.status, host: step.host }));
              m.host = step.host;
              break;
            }
            case 'suspect':
              if (m === undefined) continue;
              idx.apply(event('member-suspect', step.node, m.payload, { host: m.host }));
              m.status = 'suspect';
              break;
            case 'alive':
              if (m === undefined || m.status !== 'suspect') continue;
              idx.apply(event('member-alive', step.node, m.payload, { host: m.host }));
              m.status = 'alive';
              break;
            case 'gone':
              if (m === undefined) continue;
              idx.apply(event(step.how, step.node, m.payload, { host: m.host }));
              model.delete(step.node);
              break;
          }

          expect(idx.counters.invalidPayloads).toBe(invalid);
          const summaries: ServiceSummary[] = [];
          const changed: string[] = [];
          for (const name of NAMES) {
            const all = modelAll(model, name);
            expect(idx.lookup(name, { status: 'any' })).toEqual(all.map((e) => e.inst));
            expect(idx.lookup(name)).toEqual(all.filter((e) => e.inst.status === 'passing').map((e) => e.inst));
            expect(idx.lookup(name, { tags: ['x'] })).toEqual(all.filter((e) => e.inst.status === 'passing' && e.inst.tags.includes('x')).map((e) => e.inst));
            expect(idx.lookup(name, { status: ['warning', 'critical'], tags: ['y'] })).toEqual(
              all.filter((e) => (e.inst.status === 'warning' || e.inst.status === 'critical') && e.inst.tags.includes('y')).map((e) => e.inst),
            );
            for (const e of all) {
              const got = idx.lookup(name, { status: 'any' }).find((i) => i.node === e.inst.node && i.id === e.inst.id)!;
              expect(idx.isOnSuspectNode(got)).toBe(e.suspect);
            }
            if (all.length > 0) summaries.push({ name, instances: all.length, passing: all.filter((e) => e.inst.status === 'passing').length });

            // The modify index rises exactly when the name's result (instances, suspect flags) changed.
            const snap = snapshot(name);
            const index = idx.indexOf(name);
            if (snap !== prevSnap.get(name)) {
              expect(index).toBeGreaterThan(prevIndex.get(name)!);
              changed.push(name);
            } else {
              expect(index).toBe(prevIndex.get(name));
            }
            prevSnap.set(name, snap);
            prevIndex.set(name, index);
          }
          expect(idx.services()).toEqual(summaries);
          expect([...calls].sort()).toEqual(changed.map((n) => [n, idx.indexOf(n)]));
          expect(idx.size).toBe([...model.values()].reduce((n, mn) => n + mn.records.length, 0));
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe('ServiceIndex memory and listener safety', () => {
  it('drops a name with no instances left (names that come and go do not accumulate) without its index going back', () => {
    const idx = new ServiceIndex();
    for (let i = 0; i < 500; i++) idx.apply(event('member-update', 'n1', [record({ id: 'x', name: `name-${i}` })], { incarnation: i + 1 }));
    // Only the current name has a bucket; every other one is gone from services().
    expect(idx.services().map((s) => s.name)).toEqual(['name-499']);
    expect((idx as unknown as { buckets: Map<string, unknown> }).buckets.size).toBe(1);
    const last = idx.indexOf('name-10');
    expect(last).toBeGreaterThan(1);
    idx.apply(event('member-update', 'n1', [record({ id: 'x', name: 'name-10' })], { incarnation: 1000 }));
    expect(idx.indexOf('name-10')).toBeGreaterThan(last);
  });

  it('a listener that throws is counted and reported; the others still run', () => {
    const idx = new ServiceIndex();
    const errors: unknown[] = [];
    idx.onListenerError = (err) => errors.push(err);
    const calls: string[] = [];
    idx.onChange(() => {
      throw new Error('boom');
    });
    idx.onChange((name) => calls.push(name));
    idx.apply(event('member-join', 'n1', [record({ id: 'x', name: 'svc' })]));
    expect(calls).toEqual(['svc']);
    expect(idx.counters.listenerErrors).toBe(1);
    expect(errors).toHaveLength(1);
  });
});
