/**
 * The web view's store (ui/store.js), in Node: the lists it loads, the events it applies (a member's
 * "since" moves only when its status changes), what it coalesces into one announcement, and the
 * filters and the age format the lists use.
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- a browser module (JavaScript with JSDoc types, checked by `tsc -p ui/tsconfig.json`)
import { filterInstances, filterMembers, formatAge, FEED_SIZE, MeshStore } from '../../ui/store.js';

const member = (name: string, status: string, incarnation = 1) => ({ name, addr: '127.0.0.1', port: 7946, status, incarnation, tags: { zone: 'a' } });
const instance = (id: string, name: string, status = 'passing', node = 'n1') => ({ id, name, node, address: '127.0.0.1', port: 80, tags: ['v1'], meta: {}, status });

function store(now: { t: number }) {
  const queued: (() => void)[] = [];
  const s = new MeshStore({ now: () => now.t, schedule: (fn: () => void) => queued.push(fn) });
  return { s, flush: () => queued.splice(0).forEach((fn) => fn()) };
}

describe('MeshStore', () => {
  it('loads the lists, then applies member events in order, keeping "since" while the status stays', () => {
    const now = { t: 10_000 };
    const { s } = store(now);
    s.load({ members: [{ ...member('n1', 'alive'), statusSince: new Date(5000).toISOString() }], instances: [instance('i1', 'web'), instance('i2', 'web'), instance('i3', 'api')], checks: [], registrations: [] });
    expect(s.members.get('n1').since).toBe(5000);
    expect(s.instanceArray().map((i: { id: string }) => i.id)).toEqual(['i3', 'i1', 'i2']);
    now.t = 11_000;
    s.apply('member-update', { member: member('n1', 'alive', 2) });
    expect(s.members.get('n1')).toMatchObject({ incarnation: 2, since: 5000 });
    s.apply('member-join', { member: member('n2', 'alive') });
    now.t = 12_000;
    s.apply('member-suspect', { member: member('n2', 'suspect'), from: 'n1' });
    expect(s.members.get('n2')).toMatchObject({ status: 'suspect', since: 12_000 });
    expect(s.memberCounts()).toEqual({ alive: 1, suspect: 1, dead: 0, left: 0 });
    s.apply('member-reap', { member: member('n2', 'dead') });
    expect(s.members.has('n2')).toBe(false);
    expect(s.feed.map((f: { type: string }) => f.type)).toEqual(['member-update', 'member-join', 'member-suspect', 'member-reap']);
    expect(s.feed[2].text).toContain('(by n1)');
  });

  it('marks changed service names to be read again, updates checks, and keeps the feed bounded', () => {
    const { s } = store({ t: 0 });
    s.apply('service-change', { name: 'web', index: 3, instances: 2, passing: 1 });
    s.apply('service-change', { name: 'api', index: 4, instances: 1, passing: 1 });
    expect(s.takeDirty().sort()).toEqual(['api', 'web']);
    expect(s.takeDirty()).toEqual([]);
    s.setInstances('web', [instance('i1', 'web', 'critical')]);
    expect(s.instanceCounts()).toMatchObject({ critical: 1 });
    s.setInstances('web', []);
    expect(s.instances.has('web')).toBe(false);
    s.apply('check-update', { check: 'c1', serviceId: 'i1', status: 'critical', output: 'disk full' });
    expect(s.checks.get('c1')).toMatchObject({ status: 'critical', output: 'disk full' });
    for (let i = 0; i < FEED_SIZE + 50; i++) s.apply('member-join', { member: member(`m${i}`, 'alive') });
    expect(s.feed.length).toBe(FEED_SIZE);
    expect(s.feed.at(-1).subject).toBe(`m${FEED_SIZE + 49}`);
  });

  it("holds another node's checks once they were read, keeps them by events, and forgets them on a reload", () => {
    const { s } = store({ t: 0 });
    const c = (id: string, serviceId: string, status: string, output = '') => ({ id, serviceId, kind: 'ttl', status, output });
    // An event for a node whose checks were never read is left to the read.
    s.apply('instance-checks', { node: 'n2', serviceId: 'i9', checks: [c('x', 'i9', 'passing')] });
    expect(s.remoteChecks.has('n2')).toBe(false);
    s.setNodeChecks('n2', [c('a', 'i1', 'passing', 'ok'), c('b', 'i1', 'warning', 'slow'), c('d', 'i2', 'passing')]);
    expect(s.remoteChecks.get('n2').get('i1').map((x: { id: string }) => x.id)).toEqual(['a', 'b']);
    s.apply('instance-checks', { node: 'n2', serviceId: 'i1', checks: [c('a', 'i1', 'critical', 'refused')] });
    expect(s.remoteChecks.get('n2').get('i1')).toEqual([c('a', 'i1', 'critical', 'refused')]);
    s.apply('instance-checks', { node: 'n2', serviceId: 'i2', checks: null });
    expect(s.remoteChecks.get('n2').has('i2')).toBe(false);
    s.load({ members: [], instances: [], checks: [], registrations: [] });
    expect(s.remoteChecks.size).toBe(0);
  });

  it('announces a burst of changes once', () => {
    const { s, flush } = store({ t: 0 });
    let calls = 0;
    s.subscribe(() => calls++);
    for (let i = 0; i < 1000; i++) s.apply('member-join', { member: member(`m${i}`, 'alive') });
    flush();
    expect(calls).toBe(1);
    expect(s.memberArray()).toHaveLength(1000);
  });
});

describe('filters and ages', () => {
  it('filters instances by name, tag and status, and members by text and status', () => {
    const list = [instance('i1', 'web'), { ...instance('i2', 'web-admin', 'critical'), tags: ['v2'] }, instance('i3', 'api')];
    expect(filterInstances(list, { name: 'web', tag: '', status: '' }).map((i: { id: string }) => i.id)).toEqual(['i1', 'i2']);
    expect(filterInstances(list, { name: '', tag: 'v2', status: '' }).map((i: { id: string }) => i.id)).toEqual(['i2']);
    expect(filterInstances(list, { name: '', tag: '', status: 'passing' }).map((i: { id: string }) => i.id)).toEqual(['i1', 'i3']);
    expect(filterInstances(list, { name: '', tag: '', status: '' })).toBe(list);
    const members = [{ ...member('n1', 'alive'), since: 0 }, { ...member('n2', 'dead'), since: 0, tags: { zone: 'b' } }];
    expect(filterMembers(members, { text: 'zone=b', status: '' }).map((m: { name: string }) => m.name)).toEqual(['n2']);
    expect(filterMembers(members, { text: '', status: 'alive' }).map((m: { name: string }) => m.name)).toEqual(['n1']);
  });

  it('formats how long a status has lasted', () => {
    expect([formatAge(-5), formatAge(4999), formatAge(61_000), formatAge(3_720_000), formatAge(90_000_000)]).toEqual(['0s', '4s', '1m 1s', '1h 2m', '1d 1h']);
  });
});
