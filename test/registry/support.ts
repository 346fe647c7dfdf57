/**
 * Shared helpers for the registry tests: records, hand-crafted payload bytes (an independent
 * writer of the documented format, to build hostile input the encoder would refuse to write),
 * member views and events, and fast-check arbitraries for valid records.
 */
import fc from 'fast-check';
import type { MembershipEvent, MemberView } from '../../src/membership/types.js';
import { PAYLOAD_MAGIC, PAYLOAD_VERSION, encodeInstances } from '../../src/registry/payload.js';
import type { HealthStatus, LocalInstanceRecord, ServiceInstance } from '../../src/registry/types.js';
import { addressProblem } from '../../src/registry/validate.js';
import { instanceEntries, instanceKey } from '../../src/registry/entries.js';
import type { MemberStatus } from '../../src/wire/messages.js';

export function record(over: Partial<LocalInstanceRecord> = {}): LocalInstanceRecord {
  return { id: 'a', name: 'svc', address: '', port: 80, tags: [], meta: {}, status: 'passing', ...over };
}

export function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

/** A string field: text (UTF-8 encoded) or raw bytes (to plant invalid UTF-8). */
export type RawString = string | readonly number[];

export interface RawInstance {
  readonly id: RawString;
  readonly name: RawString;
  readonly address: RawString;
  readonly port: number;
  /** The status code byte. */
  readonly status: number;
  readonly tags: readonly RawString[];
  readonly meta: readonly (readonly [RawString, RawString])[];
}

const enc = new TextEncoder();

function raw(s: RawString): number[] {
  return typeof s === 'string' ? [...enc.encode(s)] : [...s];
}

function str8(s: RawString): number[] {
  const b = raw(s);
  if (b.length > 255) throw new Error('str8 too long for the test writer');
  return [b.length, ...b];
}

function str16(s: RawString): number[] {
  const b = raw(s);
  return [b.length >>> 8, b.length & 0xff, ...b];
}

/** One instance in the documented wire layout, without any validation. */
export function instanceBytes(i: RawInstance): Uint8Array {
  const out: number[] = [
    ...str8(i.id),
    ...str8(i.name),
    ...str8(i.address),
    i.port >>> 8,
    i.port & 0xff,
    i.status,
    i.tags.length,
  ];
  for (const t of i.tags) out.push(...str8(t));
  out.push(i.meta.length);
  for (const [k, v] of i.meta) out.push(...str8(k), ...str16(v));
  return Uint8Array.from(out);
}

/** A whole payload: magic, version, count and the instances. */
export function payloadBytes(instances: readonly RawInstance[]): Uint8Array {
  const parts = instances.map(instanceBytes);
  const out = new Uint8Array(3 + parts.reduce((n, p) => n + p.length, 0));
  out[0] = PAYLOAD_MAGIC;
  out[1] = PAYLOAD_VERSION;
  out[2] = instances.length;
  let pos = 3;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// membership views and events
// ---------------------------------------------------------------------------------------------

export function view(
  name: string,
  payload: Uint8Array | null,
  over: { status?: MemberStatus; host?: string; incarnation?: number } = {},
): MemberView {
  return {
    name,
    host: over.host ?? `10.0.0.${name.length}`,
    port: 7946,
    incarnation: over.incarnation ?? 1,
    status: over.status ?? 'alive',
    state: { tags: {}, payload },
    changedAt: 0,
  };
}

export function payloadOf(records: readonly LocalInstanceRecord[]): Uint8Array | null {
  return encodeInstances(records);
}

type MemberEventType = 'member-join' | 'member-update' | 'member-alive' | 'member-suspect' | 'member-dead' | 'member-leave' | 'member-reap';

const STATUS_OF: Readonly<Record<MemberEventType, MemberStatus>> = {
  'member-join': 'alive',
  'member-update': 'alive',
  'member-alive': 'alive',
  'member-suspect': 'suspect',
  'member-dead': 'dead',
  'member-leave': 'left',
  'member-reap': 'dead',
};

/** An event as membership emits it: the view's status agrees with the event. */
export function event(
  type: MemberEventType,
  name: string,
  records: readonly LocalInstanceRecord[] | Uint8Array | null,
  over: { status?: MemberStatus; host?: string; incarnation?: number } = {},
): MembershipEvent {
  const payload = records === null || records instanceof Uint8Array ? records : payloadOf(records);
  const member = view(name, payload, { status: STATUS_OF[type], ...over });
  switch (type) {
    case 'member-suspect':
    case 'member-dead':
      return { type, member, from: 'accuser' };
    default:
      return { type, member };
  }
}

/** node/id pairs of a lookup result, for compact assertions. */
export function keys(list: readonly ServiceInstance[]): string[] {
  return list.map((i) => `${i.node}/${i.id}`);
}

export function instance(over: Partial<ServiceInstance> = {}): ServiceInstance {
  return Object.freeze({
    id: 'i1',
    name: 'web',
    node: 'n1',
    address: '10.0.0.1',
    port: 80,
    tags: Object.freeze([]),
    meta: Object.freeze({}),
    status: 'passing' as HealthStatus,
    ...over,
  });
}

// ---------------------------------------------------------------------------------------------
// arbitraries
// ---------------------------------------------------------------------------------------------

// eslint-disable-next-line no-control-regex
const CONTROL_OR_SPACE = /[\u0000-\u0020\u007f]/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

export const arbId = fc.stringMatching(/^[A-Za-z0-9._:~-]{1,24}$/);
export const arbName = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?$/);
export const arbStatus = fc.constantFrom<HealthStatus>('passing', 'warning', 'critical', 'maintenance');
const arbText = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 });
export const arbTag = fc.oneof(fc.stringMatching(/^[a-z0-9.=-]{1,10}$/), arbText.filter((s) => !CONTROL_OR_SPACE.test(s)));
/** Addresses an instance may have: no unspecified, broadcast or multicast ones (addressProblem refuses them). */
export const arbAddress = fc.oneof(fc.constant(''), fc.ipV4(), fc.ipV6(), fc.domain()).filter((a) => a === '' || addressProblem(a) === undefined);
const arbMetaKey = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/), fc.constantFrom('__proto__', 'constructor', 'toString', '1', '0'));
const arbMetaValue = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 8 })).filter((s) => !CONTROL.test(s));

export const arbMeta = fc
  .uniqueArray(fc.tuple(arbMetaKey, arbMetaValue), { maxLength: 5, selector: ([k]) => k })
  .map((entries) => Object.fromEntries(entries) as Record<string, string>);

export const arbRecord: fc.Arbitrary<LocalInstanceRecord> = fc.record({
  id: arbId,
  name: arbName,
  address: arbAddress,
  port: fc.integer({ min: 1, max: 65_535 }),
  tags: fc.uniqueArray(arbTag, { maxLength: 5 }),
  meta: arbMeta,
  status: arbStatus,
});

export const arbRecords = fc.uniqueArray(arbRecord, { maxLength: 8, selector: (r) => r.id });

/** What each runtime was last fed of each remote node, so that a later feed removes what is gone. */
const fedRecords = new WeakMap<object, Map<string, readonly LocalInstanceRecord[]>>();

/**
 * Feeds `runtime` a remote node the way its instances arrive since issue 13 (the state layer): its
 * instance entries as a 'state-update' (with tombstones for those fed before and gone now), then
 * the member event that says it is alive or suspect. The member's payload is left empty, as a
 * node's is on the wire.
 */
export function feedRemote(runtime: { onMembershipEvent(e: MembershipEvent): void }, event: MembershipEvent & { readonly member: MemberView }, records: readonly LocalInstanceRecord[]): void {
  let byNode = fedRecords.get(runtime);
  if (byNode === undefined) {
    byNode = new Map();
    fedRecords.set(runtime, byNode);
  }
  const node = event.member.name;
  const before = byNode.get(node) ?? [];
  byNode.set(node, records);
  const now = new Set(records.map((r) => r.id));
  const gone = before.filter((r) => !now.has(r.id)).map((r) => ({ key: instanceKey(r.id), value: new Uint8Array(0), version: 0, deleted: true }));
  runtime.onMembershipEvent({ type: 'state-update', node, changed: [...gone, ...instanceEntries(records)] });
  runtime.onMembershipEvent({ ...event, member: { ...event.member, state: { tags: event.member.state.tags, payload: null } } } as MembershipEvent);
}
