// @ts-check
/**
 * What the view knows about the mesh, kept outside the components: the members, every instance by
 * service name, this agent's checks and registrations, the recent events and the health samples.
 * Filled from the API's lists once (load), then kept live by the event stream (apply). Changes are
 * announced at most once per frame (`schedule`), so a burst of a thousand events costs one render.
 * No DOM here: test/ui/store.test.ts drives it in Node.
 */

/** @typedef {import('../src/api/view-types.js').MemberInfo} MemberInfo */
/** @typedef {import('../src/api/view-types.js').DetailedMemberInfo} DetailedMemberInfo */
/** @typedef {import('../src/api/view-types.js').ServiceInstance} ServiceInstance */
/** @typedef {import('../src/api/view-types.js').CheckInfo} CheckInfo */
/** @typedef {import('../src/api/view-types.js').RegistrationInfo} RegistrationInfo */
/** @typedef {import('../src/api/view-types.js').AgentHealthSample} AgentHealthSample */
/** @typedef {import('../src/api/view-types.js').EventData} EventData */
/** @typedef {MemberInfo & { since: number }} Member a member and since when (ms, wall clock) it has its status */
/** @typedef {{ seq: number, at: number, type: string, subject: string, text: string, status: string }} FeedItem */
/** @typedef {{ members: DetailedMemberInfo[], instances: ServiceInstance[], checks: CheckInfo[], registrations: RegistrationInfo[] }} Snapshot */

export const MEMBER_STATUSES = /** @type {const} */ (['alive', 'suspect', 'dead', 'left']);
export const HEALTH_STATUSES = /** @type {const} */ (['passing', 'warning', 'critical', 'maintenance']);
/** Events kept in the feed. */
export const FEED_SIZE = 500;
/** Health samples kept for the charts (at the default 2 s interval: the last 10 minutes). */
export const HEALTH_SIZE = 300;

/** Events and the fields of their data that name what they are about. */
const MEMBER_EVENTS = new Set(['member-join', 'member-update', 'member-suspect', 'member-alive', 'member-dead', 'member-leave', 'member-reap']);

export class MeshStore {
  /**
   * @param {{ now?: () => number, schedule?: (fn: () => void) => void }} [options]
   *   `now`: the wall clock in ms; `schedule`: runs a function before the next paint (requestAnimationFrame).
   */
  constructor(options = {}) {
    this.now = options.now ?? (() => Date.now());
    this.schedule = options.schedule ?? ((fn) => void setTimeout(fn, 0));
    /** @type {Map<string, Member>} */
    this.members = new Map();
    /** @type {Map<string, readonly ServiceInstance[]>} instances by service name */
    this.instances = new Map();
    /** @type {Map<string, CheckInfo>} this agent's checks by id */
    this.checks = new Map();
    /** @type {Map<string, RegistrationInfo>} this agent's registrations by instance id */
    this.registrations = new Map();
    /** @type {Map<string, Map<string, readonly CheckInfo[]>>} other nodes' checks (as they published them), by node then instance id, for the nodes loaded with setNodeChecks */
    this.remoteChecks = new Map();
    /** @type {FeedItem[]} newest last */
    this.feed = [];
    /** @type {AgentHealthSample[]} oldest first */
    this.health = [];
    /** Service names whose instances changed since they were last read. */
    this.dirty = new Set();
    /** Raised on every change; components compare it. */
    this.version = 0;
    this.seq = 0;
    /** @type {Set<() => void>} */
    this.listeners = new Set();
    this.pending = false;
    /** The sorted lists, rebuilt only when their part changed. */
    /** @type {Member[] | null} */
    this.memberList = null;
    /** @type {ServiceInstance[] | null} */
    this.instanceList = null;
  }

  /** @param {() => void} fn @returns {() => void} */
  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** @param {'members' | 'instances' | 'other'} what */
  changed(what) {
    this.version++;
    if (what === 'members') this.memberList = null;
    if (what === 'instances') this.instanceList = null;
    if (this.pending) return;
    this.pending = true;
    this.schedule(() => {
      this.pending = false;
      for (const fn of [...this.listeners]) fn();
    });
  }

  /** Replaces everything the lists say (on connect, and on reconnect). @param {Snapshot} s */
  load(s) {
    const now = this.now();
    this.members.clear();
    for (const m of s.members) {
      const since = Date.parse(m.statusSince);
      const { statusSince: _ignored, ...info } = m;
      this.members.set(m.name, { ...info, since: Number.isFinite(since) ? since : now });
    }
    this.setAllInstances(s.instances);
    this.checks.clear();
    for (const c of s.checks) this.checks.set(c.id, c);
    this.remoteChecks.clear();
    this.setRegistrations(s.registrations);
    this.changed('members');
    this.changed('instances');
  }

  /** @param {readonly ServiceInstance[]} list */
  setAllInstances(list) {
    this.instances.clear();
    for (const i of list) {
      const arr = /** @type {ServiceInstance[] | undefined} */ (this.instances.get(i.name));
      if (arr === undefined) this.instances.set(i.name, [i]);
      else arr.push(i);
    }
    this.dirty.clear();
    this.changed('instances');
  }

  /** The instances of one name, as GET /v1/services/NAME?status=any answered. @param {string} name @param {readonly ServiceInstance[]} list */
  setInstances(name, list) {
    if (list.length === 0) this.instances.delete(name);
    else this.instances.set(name, list);
    this.changed('instances');
  }

  /** @param {readonly RegistrationInfo[]} list */
  setRegistrations(list) {
    this.registrations.clear();
    for (const r of list) {
      this.registrations.set(r.id, r);
      for (const c of r.checks) this.checks.set(c.id, c);
    }
    this.changed('other');
  }

  /** Another node's checks, as GET /v1/checks?node=NAME answered; events keep them current from then on. @param {string} node @param {readonly CheckInfo[]} list */
  setNodeChecks(node, list) {
    /** @type {Map<string, CheckInfo[]>} */
    const byInstance = new Map();
    for (const c of list) {
      const arr = byInstance.get(c.serviceId);
      if (arr === undefined) byInstance.set(c.serviceId, [c]);
      else arr.push(c);
    }
    this.remoteChecks.set(node, byInstance);
    this.changed('other');
  }

  /** @param {readonly CheckInfo[]} list */
  setChecks(list) {
    this.checks.clear();
    for (const c of list) this.checks.set(c.id, c);
    this.changed('other');
  }

  /**
   * One message of the event stream.
   * @param {string} type
   * @param {any} data
   */
  apply(type, data) {
    const now = this.now();
    if (type === 'agent-health') {
      this.health.push(/** @type {AgentHealthSample} */ (data));
      if (this.health.length > HEALTH_SIZE) this.health.splice(0, this.health.length - HEALTH_SIZE);
      this.changed('other');
      return;
    }
    if (MEMBER_EVENTS.has(type)) {
      const m = /** @type {MemberInfo} */ (data.member);
      if (type === 'member-reap') this.members.delete(m.name);
      else {
        const old = this.members.get(m.name);
        this.members.set(m.name, { ...m, since: old !== undefined && old.status === m.status ? old.since : now });
      }
      this.changed('members');
      const extra = data.from !== undefined && data.from !== '' ? ` (by ${data.from})` : '';
      this.note(now, type, m.name, `${m.addr}:${m.port} incarnation ${m.incarnation}${extra}`, m.status);
      return;
    }
    if (type === 'service-change') {
      const d = /** @type {EventData['service-change']} */ (data);
      this.dirty.add(d.name);
      this.note(now, type, d.name, `${d.instances} instances, ${d.passing} passing`, d.passing < d.instances ? 'warning' : 'passing');
      this.changed('other');
      return;
    }
    if (type === 'check-update') {
      const d = /** @type {EventData['check-update']} */ (data);
      const old = this.checks.get(d.check);
      this.checks.set(d.check, { id: d.check, serviceId: d.serviceId, kind: old?.kind ?? 'ttl', status: d.status, output: d.output });
      this.note(now, type, d.check, `${d.status}${d.output === '' ? '' : `: ${d.output}`}`, d.status);
      return;
    }
    if (type === 'instance-checks') {
      const d = /** @type {EventData['instance-checks']} */ (data);
      const byInstance = this.remoteChecks.get(d.node);
      if (byInstance === undefined) return; // not loaded: setNodeChecks will read it whole
      if (d.checks === null) byInstance.delete(d.serviceId);
      else byInstance.set(d.serviceId, d.checks);
      this.changed('other');
      return;
    }
    if (type === 'service-deregistered-critical') {
      const d = /** @type {EventData['service-deregistered-critical']} */ (data);
      this.note(now, type, d.serviceId, `deregistered: check ${d.check} stayed critical`, 'critical');
      return;
    }
    if (type === 'member-conflict') {
      const d = /** @type {EventData['member-conflict']} */ (data);
      this.note(now, type, d.name, d.lost === true ? 'this node lost its name and stopped' : 'its name is claimed from two addresses', 'suspect');
      return;
    }
    if (type === 'self-refute') {
      const d = /** @type {EventData['self-refute']} */ (data);
      this.note(now, type, '', `refuted an accusation by ${d.accusedBy}: incarnation ${d.incarnation}`, 'suspect');
      return;
    }
    if (type === 'push-pull-complete') {
      const d = /** @type {EventData['push-pull-complete']} */ (data);
      this.note(now, type, '', `full-state exchange${d.join ? ' (join)' : ''} with ${d.peer.host}:${d.peer.port}: ${d.members} members`, '');
      return;
    }
    if (type === 'leave-disseminated') {
      this.note(now, type, '', 'this agent\'s leave has been sent its full retransmit budget', 'left');
      return;
    }
    this.note(now, type, '', JSON.stringify(data).slice(0, 200), '');
  }

  /** @param {number} at @param {string} type @param {string} subject @param {string} text @param {string} status */
  note(at, type, subject, text, status) {
    this.feed.push({ seq: ++this.seq, at, type, subject, text, status });
    if (this.feed.length > FEED_SIZE) this.feed.splice(0, this.feed.length - FEED_SIZE);
    this.changed('other');
  }

  /** The dirty names, emptied. @returns {string[]} */
  takeDirty() {
    const names = [...this.dirty];
    this.dirty.clear();
    return names;
  }

  /** Members sorted by name. @returns {Member[]} */
  memberArray() {
    this.memberList ??= [...this.members.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return this.memberList;
  }

  /** Every instance, by service name then id. @returns {ServiceInstance[]} */
  instanceArray() {
    if (this.instanceList === null) {
      const names = [...this.instances.keys()].sort();
      /** @type {ServiceInstance[]} */
      const out = [];
      for (const n of names) out.push(...[...(this.instances.get(n) ?? [])].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));
      this.instanceList = out;
    }
    return this.instanceList;
  }

  /** Members by status. @returns {Record<string, number>} */
  memberCounts() {
    /** @type {Record<string, number>} */
    const c = { alive: 0, suspect: 0, dead: 0, left: 0 };
    for (const m of this.members.values()) c[m.status] = (c[m.status] ?? 0) + 1;
    return c;
  }

  /** Instances by health status. @returns {Record<string, number>} */
  instanceCounts() {
    /** @type {Record<string, number>} */
    const c = { passing: 0, warning: 0, critical: 0, maintenance: 0 };
    for (const list of this.instances.values()) for (const i of list) c[i.status] = (c[i.status] ?? 0) + 1;
    return c;
  }
}

/**
 * Instances that pass a filter: `name` a substring of the service name, `tag` one of its tags
 * exactly (or a substring when none is exact), `status` one health status or '' for any.
 * @param {readonly ServiceInstance[]} list
 * @param {{ name: string, tag: string, status: string }} f
 * @returns {readonly ServiceInstance[]}
 */
export function filterInstances(list, f) {
  const name = f.name.trim().toLowerCase();
  const tag = f.tag.trim();
  if (name === '' && tag === '' && f.status === '') return list;
  return list.filter((i) => (name === '' || i.name.toLowerCase().includes(name)) && (f.status === '' || i.status === f.status) && (tag === '' || i.tags.some((t) => t === tag || t.includes(tag))));
}

/**
 * Members that pass a filter: `text` a substring of the name, the address or a tag value; `status` one status or ''.
 * @param {readonly Member[]} list
 * @param {{ text: string, status: string }} f
 * @returns {readonly Member[]}
 */
export function filterMembers(list, f) {
  const text = f.text.trim().toLowerCase();
  if (text === '' && f.status === '') return list;
  return list.filter(
    (m) => (f.status === '' || m.status === f.status) && (text === '' || m.name.toLowerCase().includes(text) || `${m.addr}:${m.port}`.includes(text) || Object.entries(m.tags).some(([k, v]) => `${k}=${v}`.toLowerCase().includes(text))),
  );
}

/** "5s", "3m 2s", "1h 4m", "2d 3h". @param {number} ms */
export function formatAge(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}
