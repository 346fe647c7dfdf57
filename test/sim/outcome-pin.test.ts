/**
 * Pins the simulator's outcome for fixed seeds: the digest of every emitted event, the world's
 * trace hash and counters, and every node's final view (probe order included). The expected values
 * were computed on main before the member table, world building and push-pull codec were made
 * faster (issue 12 point 5), so that this test proves that work changed no result: first at
 * 967ec72, then again at 8015338, whose protocol changes (news gossiped at once, a refused TCP
 * ping taken as an answer) moved them on purpose; the speed work merged on top gives the same.
 * Recomputed once more when the state layer (protocol 2) took the registry off the alive payload,
 * and again when protocol 3 took node tags off the alive message and the push-pull record into
 * the state layer (entry t:): every alive and record is shorter, a tag change is a delta instead
 * of a new incarnation, and a converged world holds every node's t: entry from the start.
 * The counters' digest moved alone when the state-delta byte counters by entry kind were added
 * (new names in the hash; every other value the same: the counting changes nothing).
 * The lossy world (every node with tags, so every node announces its state at start) moved again
 * when an announcement a node cannot serve yet was passed on once per version instead of at every
 * copy (state-sync.ts, passOnAnnouncement); the empty-state world, which announces nothing, did not.
 * And again when state-layer requests and answers stopped carrying piggybacked gossip
 * (Outbox.sendDirect): fewer packets, gossip sent to random members instead.
 *
 * When a deliberate protocol change moves these numbers, recompute them (the failure prints the new
 * values) and say in the commit why the outcome changed.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createWorld } from '../../src/sim/index.js';
import type { MemberState } from '../../src/wire/messages.js';

interface Outcome {
  events: number;
  eventDigest: string;
  traceHash: number;
  stats: Record<string, number>;
  counters: string;
  viewDigest: string;
}

function run(seed: number, loss: number, state: MemberState | undefined): Outcome {
  const w = createWorld({ seed, profile: 'lan', ...(state === undefined ? {} : { state }), network: { link: { lossRate: loss, latency: { kind: 'lognormal', medianMs: 1, sigma: 0.5 } } } });
  const events = createHash('sha256');
  let count = 0;
  w.onEvent((node, e, t) => {
    count++;
    const about = 'member' in e ? `${e.member.name}:${e.member.incarnation}:${e.member.status}:${e.member.host}:${e.member.port}` : '';
    events.update(`${t} ${node} ${e.type} ${about}\n`);
  });
  const names = w.buildConverged(200);
  const pick = (exclude: readonly string[]): string => {
    for (;;) {
      const n = names[w.random.int(names.length)] as string;
      if (!exclude.includes(n)) return n;
    }
  };
  const crashed = pick([]);
  const leaver = pick([crashed]);
  const changer = pick([crashed, leaver]);
  const joiner = w.addNode();
  w.at(5000, () => w.join(joiner, [pick([crashed, leaver])]));
  w.at(6000, () => w.crash(crashed));
  w.at(7000, () => w.leave(leaver));
  w.at(8000, () => w.setLocalState(changer, { tags: { role: 'db', zone: 'z1' }, payload: new Uint8Array([1, 2, 3, 4]) }));
  // A partition long enough for each side to declare the other dead, then healed: push-pulls carry
  // dead records and reconnects merge the sides back.
  const side = names.slice(0, 30).filter((n) => n !== crashed && n !== leaver);
  const rest = names.slice(30).filter((n) => n !== crashed && n !== leaver).concat(joiner);
  let part = 0;
  w.at(10_000, () => {
    part = w.partition(side, rest);
  });
  w.at(30_000, () => w.heal(part));
  w.runUntil(50_000);

  const views = createHash('sha256');
  for (const n of w.liveNames()) {
    for (const v of w.member(n).members()) views.update(`${n} ${v.name} ${v.host}:${v.port} ${v.incarnation} ${v.status} ${v.changedAt} ${JSON.stringify(v.state.tags)}\n`);
  }
  const counters = w.membershipCounters();
  return {
    events: count,
    eventDigest: events.digest('hex').slice(0, 16),
    traceHash: w.traceHash,
    stats: { ...w.stats },
    counters: createHash('sha256')
      .update(JSON.stringify(Object.keys(counters).sort().map((k) => [k, counters[k]])))
      .digest('hex')
      .slice(0, 16),
    viewDigest: views.digest('hex').slice(0, 16),
  };
}

describe('the simulator outcome for a fixed seed', () => {
  it('200 nodes, no loss, empty state: as on main before the speed work', () => {
    expect(run(1, 0, undefined)).toEqual(PINNED.plain);
  });

  it('200 nodes, 10% loss, tags and a payload on every node: as on main before the speed work', () => {
    const state: MemberState = { tags: { dc: 'eu-1', rack: 'r7' }, payload: new Uint8Array(40).fill(7) };
    expect(run(7, 0.1, state)).toEqual(PINNED.lossy);
  });
});

const PINNED: { plain: Outcome; lossy: Outcome } = {
  plain: {
    counters: 'd476e3f0f4673c3a',
    eventDigest: '080e4e2d9cf72a44',
    events: 59357,
    stats: {
      bytesDelivered: 11661736,
      bytesSent: 12630461,
      droppedAtDeadNode: 463,
      droppedPauseOverflow: 0,
      events: 192449,
      falseDeaths: 11163,
      packetsDelivered: 104503,
      packetsSent: 121010,
      refutes: 128,
      streamsRefused: 7,
      suspicionsOfLiveNodes: 22384,
      undeliverable: 0,
    },
    traceHash: 292929013,
    viewDigest: '628967d2ee2114c7',
  },
  lossy: {
    counters: '5500d99708963a7a',
    eventDigest: '66a3f9c22f57bbf5',
    events: 57167,
    stats: {
      bytesDelivered: 24175645,
      bytesSent: 27516631,
      droppedAtDeadNode: 558,
      droppedPauseOverflow: 0,
      events: 221061,
      falseDeaths: 8579,
      packetsDelivered: 123671,
      packetsSent: 154703,
      refutes: 128,
      streamsRefused: 15,
      suspicionsOfLiveNodes: 22467,
      undeliverable: 0,
    },
    traceHash: 3898254890,
    viewDigest: '94b2fae609ff6d89',
  },
};
