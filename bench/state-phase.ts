/**
 * The state layer's phase of bench:sim and bench:lookup (issue 13, `--instances-per-node K`), on
 * a world already built and settled. In simulated time:
 *
 * - stateBytesPerFlip: the bytes all nodes send (datagrams and streams) in a window after one
 *   instance's status flips on a node carrying K instances, less the bytes of an equal window just
 *   before with no change (probes and the rest of the background), so what the flip added: its
 *   deltas, the relays, and any repair. Also per node reached (divided by N - 1).
 * - registrationVisibleMs: one registration on another node until every live node holds it.
 * - bigJoinVisibleMs: a new node joining with `bigJoin` instances until every live node holds all.
 *
 * With `seeded` (bench:sim and bench:lookup), every node carries K instances, given by
 * World.seedConvergedState before the run (every replica shared until it changes, so that
 * N x N x K replica entries fit); without it, K instances are published on two nodes only (the one
 * that flips and the one that registers) and spread by the protocol first.
 */
import type { Membership } from '../src/membership/membership.js';
import { instanceChanges, instanceKey, statusKey } from '../src/registry/entries.js';
import { decodeInstanceEntry, decodeStatusEntry } from '../src/registry/payload.js';
import type { LocalInstanceRecord } from '../src/registry/types.js';
import type { World } from '../src/sim/index.js';

export interface StatePhaseResult {
  readonly instancesPerNode: number;
  readonly nodesWithInstances: number;
  readonly stateBytesPerFlip: number | null;
  readonly stateBytesPerFlipPerNodeReached: number | null;
  /**
   * The flip's state-delta bytes alone, from the cores' counters (membership/state-bytes.ts), summed
   * over all nodes: what stateBytesPerFlip estimates from all traffic less a quiet window. By
   * entry kind in `flipDeltaBytes`.
   */
  readonly stateDeltaBytesPerFlip: number | null;
  readonly flipDeltaBytes: Readonly<Record<string, number>> | null;
  readonly registrationVisibleMs: number | null;
  readonly bigJoinVisibleMs: number | null;
}

const core = (world: World, name: string): Membership => world.member(name) as unknown as Membership;

/** The K instances of `node` (the same in every bench run). */
export function records(node: string, k: number): LocalInstanceRecord[] {
  return Array.from({ length: k }, (_, i) => ({ id: `${node}-i${i}`, name: `svc-${i % 10}`, address: '', port: 20_000 + i, tags: ['v2', 'blue'], meta: { zone: `z${i % 3}` }, status: 'passing' as const }));
}

/** An instance's status as a replica holds it: its status entry's, else its record's. */
function statusOf(m: Membership, owner: string, id: string): string | undefined {
  const s = m.stateEntry(owner, statusKey(id));
  if (s !== undefined) {
    const r = decodeStatusEntry(s.value);
    return r.ok ? r.status : undefined;
  }
  const i = m.stateEntry(owner, instanceKey(id));
  if (i === undefined) return undefined;
  const r = decodeInstanceEntry(i.value);
  return r.ok ? r.record.status : undefined;
}

/** The cores' state-delta byte counters, summed over all nodes, by kind. */
function deltaBytes(world: World): Record<string, number> {
  const c = world.membershipCounters();
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(c)) if (k.startsWith('stateDeltaBytes.')) out[k.slice('stateDeltaBytes.'.length)] = v;
  return out;
}

function sentBytes(world: World): number {
  const t = world.totalTraffic();
  return t.sent.datagram.bytes + t.sent.stream.bytes;
}

/** Every live node but `owner` holds `count` entries of it, or the entry `key` with `value`. */
function everywhere(world: World, owner: string, test: (m: Membership) => boolean): boolean {
  return world.liveNames().every((v) => v === owner || test(core(world, v)));
}

/** What seedConvergedState gives `node`: its K instances as state changes. */
export function seedEntries(node: string, k: number): { key: string; value: Uint8Array | null }[] {
  return instanceChanges(new Map(), records(node, k));
}

export function statePhase(world: World, names: readonly string[], k: number, bigJoin: number, windowMs: number, seeded = false): StatePhaseResult {
  const subject = names[1 % names.length] as string;
  const registrant = names[2 % names.length] as string;
  const held = new Map<string, Map<string, Uint8Array>>();
  const publish = (node: string, recs: readonly LocalInstanceRecord[]): void => {
    const h = held.get(node) ?? new Map<string, Uint8Array>();
    held.set(node, h);
    const changes = instanceChanges(h, recs);
    world.changeState(node, changes);
    for (const c of changes) {
      if (c.value === null) h.delete(c.key);
      else h.set(c.key, c.value);
    }
  };
  // Setup: K instances on the subject and the registrant, everywhere.
  const subjectRecords = records(subject, k);
  const registrantRecords = records(registrant, k);
  if (seeded) {
    for (const n of [subject, registrant]) held.set(n, new Map(seedEntries(n, k).map((c) => [c.key, c.value as Uint8Array])));
  } else {
    publish(subject, subjectRecords);
    publish(registrant, registrantRecords);
  }
  const setup = world.runUntilTrue(
    () => everywhere(world, subject, (m) => m.stateEntries(subject)?.length === k) && everywhere(world, registrant, (m) => m.stateEntries(registrant)?.length === k),
    120_000,
    100,
  );
  if (setup === undefined) throw new Error(`the ${k} instances of ${subject} and ${registrant} did not reach every node within 120 s simulated`);
  world.runFor(windowMs); // settle: every queue drained, every summary equal

  // The flip, against a quiet window before it.
  const b0 = sentBytes(world);
  world.runFor(windowMs);
  const baseline = sentBytes(world) - b0;
  const flipped = subjectRecords.map((r, i) => (i === 0 ? { ...r, status: 'critical' as const } : r));
  const b1 = sentBytes(world);
  const d1 = deltaBytes(world);
  publish(subject, flipped);
  world.runFor(windowMs);
  const flipBytes = sentBytes(world) - b1;
  const d2 = deltaBytes(world);
  const flipDeltaBytes: Record<string, number> = {};
  for (const k of Object.keys(d2)) flipDeltaBytes[k] = (d2[k] as number) - (d1[k] ?? 0);
  const flipDeltaTotal = Object.values(flipDeltaBytes).reduce((a, b) => a + b, 0);
  const flipSeen = everywhere(world, subject, (m) => statusOf(m, subject, `${subject}-i0`) === 'critical');
  const stateBytesPerFlip = flipSeen ? Math.max(0, flipBytes - baseline) : null;
  const reached = Math.max(1, world.liveCount() - 1);

  // One registration.
  const t0 = world.now;
  publish(registrant, [...registrantRecords, ...records(`${registrant}-new`, 1)]);
  const newKey = `i:${registrant}-new-i0`;
  const seen = world.runUntilTrue(() => everywhere(world, registrant, (m) => m.stateEntry(registrant, newKey) !== undefined), 60_000, 10);
  const registrationVisibleMs = seen === undefined ? null : seen - t0;
  world.runFor(windowMs);

  // A node joining with `bigJoin` instances.
  let bigJoinVisibleMs: number | null = null;
  if (bigJoin > 0) {
    const joiner = world.addNode();
    const entries = records(joiner, bigJoin);
    const t1 = world.now;
    world.restart(joiner, { entries: instanceChanges(new Map(), entries).map((c) => ({ key: c.key, value: c.value as Uint8Array })), join: [names[0] as string] });
    const all = world.runUntilTrue(() => everywhere(world, joiner, (m) => m.stateEntries(joiner)?.length === bigJoin), 60_000, 10);
    bigJoinVisibleMs = all === undefined ? null : all - t1;
  }
  return {
    instancesPerNode: k,
    nodesWithInstances: seeded ? names.length : 2,
    stateBytesPerFlip,
    stateBytesPerFlipPerNodeReached: stateBytesPerFlip === null ? null : Math.round(stateBytesPerFlip / reached),
    stateDeltaBytesPerFlip: flipSeen ? flipDeltaTotal : null,
    flipDeltaBytes: flipSeen ? flipDeltaBytes : null,
    registrationVisibleMs,
    bigJoinVisibleMs,
  };
}
