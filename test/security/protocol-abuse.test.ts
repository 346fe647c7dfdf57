/**
 * What a peer (a key holder gone bad, or anyone on a mesh without a key) can and cannot do to
 * other nodes' views, on the pure core with packets moved by hand.
 */
import { describe, expect, it } from 'vitest';
import { encodeMessage, encodePacket, MAX_INCARNATION } from '../../src/wire/codec.js';
import type { Message } from '../../src/wire/messages.js';
import { Hand } from '../membership/harness.js';

const MALLORY = { host: 'evil', port: 666 };
const forge = (h: Hand, to: string, ...msgs: Message[]): void => {
  h.apply(to, h.node(to).handlePacket(MALLORY, encodePacket(msgs.map(encodeMessage)), 'datagram', h.now));
};
/** Fires every pending probe and gossip timer and delivers (acks carry gossip back), a few rounds. */
const spread = (h: Hand, rounds = 8): void => {
  for (let r = 0; r < rounds; r++) {
    for (const name of h.nodes.keys()) {
      for (const kind of ['probe', 'gossip'] as const) {
        if (h.timers.some((t) => t.node === name && t.timer.kind === kind)) h.fire(name, kind);
        h.deliverAll();
      }
    }
  }
};
function cluster(): Hand {
  const h = new Hand();
  for (const n of ['a', 'b', 'c']) h.add(n);
  for (const n of ['a', 'b', 'c']) h.apply(n, h.node(n).start(h.now));
  h.joinAll();
  return h;
}

describe('protocol abuse', () => {
  it('a peer cannot make a node declare itself dead: it refutes and everyone sees it alive', () => {
    const h = cluster();
    const before = h.node('b').incarnation;
    forge(h, 'b', { type: 'dead', node: 'b', incarnation: before, from: 'mallory' });
    forge(h, 'b', { type: 'suspect', node: 'b', incarnation: before + 1, from: 'mallory' });
    expect(h.node('b').statusOf('b')).toBe('alive');
    expect(h.node('b').incarnation).toBeGreaterThan(before + 1);
    expect(h.eventsOf('b', 'self-refute').length).toBeGreaterThanOrEqual(1);
    // A forged death told to a third party is refuted by the victim once it hears of it.
    forge(h, 'a', { type: 'dead', node: 'c', incarnation: h.node('c').incarnation, from: 'mallory' });
    expect(h.node('a').statusOf('c')).toBe('dead');
    spread(h);
    expect(h.node('a').statusOf('c')).toBe('alive');
    expect(h.node('c').statusOf('c')).toBe('alive');
  });

  it('a forged alive with a huge incarnation goes through the normal rules only, and the real node refutes it', () => {
    const h = cluster();
    const realAddr = h.addrOf('c');
    const inc = h.node('a').member('c')?.incarnation ?? 0;
    // Not newer: ignored.
    forge(h, 'a', { type: 'alive', node: 'c', addr: MALLORY, incarnation: inc, state: { tags: {}, payload: null } });
    expect(h.node('a').member('c')).toMatchObject({ host: realAddr.host, port: realAddr.port });
    // Newer: accepted (the protocol cannot tell a forgery from a restart), then refuted by c.
    const huge = 0x7000_0000;
    forge(h, 'a', { type: 'alive', node: 'c', addr: MALLORY, incarnation: huge, state: { tags: { owned: 'yes' }, payload: null } });
    expect(h.node('a').member('c')).toMatchObject({ host: 'evil', incarnation: huge });
    spread(h);
    for (const n of ['a', 'b', 'c']) {
      const v = h.node(n).member('c');
      expect(v).toMatchObject({ host: realAddr.host, port: realAddr.port, status: 'alive', state: { tags: {} } });
      expect(v?.incarnation).toBe(huge + 1);
    }
    expect(h.eventsOf('c', 'member-conflict')).toEqual([
      { type: 'member-conflict', name: 'c', holder: realAddr, other: MALLORY, incarnation: huge },
    ]);
  });

  it('incarnations only grow: a lower or equal one never replaces a member record', () => {
    const h = cluster();
    const inc = h.node('a').member('b')?.incarnation ?? 0;
    forge(h, 'a', { type: 'alive', node: 'b', addr: h.addrOf('b'), incarnation: inc + 5, state: { tags: {}, payload: null } });
    forge(h, 'a', { type: 'suspect', node: 'b', incarnation: inc + 1, from: 'mallory' });
    forge(h, 'a', { type: 'dead', node: 'b', incarnation: inc + 2, from: 'mallory' });
    forge(h, 'a', { type: 'alive', node: 'b', addr: MALLORY, incarnation: inc + 3, state: { tags: {}, payload: null } });
    expect(h.node('a').member('b')).toMatchObject({ status: 'alive', incarnation: inc + 5, port: h.addrOf('b').port });
  });

  it('a name claimed by two addresses at one incarnation is reported once and the first address keeps it', () => {
    const h = cluster();
    const v = h.node('a').member('b');
    forge(h, 'a', { type: 'alive', node: 'b', addr: MALLORY, incarnation: v?.incarnation ?? 0, state: { tags: {}, payload: null } });
    forge(h, 'a', { type: 'alive', node: 'b', addr: MALLORY, incarnation: v?.incarnation ?? 0, state: { tags: {}, payload: null } });
    expect(h.node('a').member('b')).toMatchObject({ host: v?.host, port: v?.port });
    expect(h.eventsOf('a', 'member-conflict')).toEqual([
      { type: 'member-conflict', name: 'b', holder: { host: v?.host, port: v?.port }, other: MALLORY, incarnation: v?.incarnation },
    ]);
    expect(h.node('a').counters.nameConflicts).toBe(1);
  });

  it('at the incarnation ceiling a forged alive cannot be outbid: the victim reports the conflict instead of wrapping', () => {
    const h = cluster();
    forge(h, 'c', { type: 'alive', node: 'c', addr: MALLORY, incarnation: MAX_INCARNATION, state: { tags: {}, payload: null } });
    expect(h.node('c').incarnation).toBe(MAX_INCARNATION);
    expect(h.eventsOf('c', 'member-conflict')).toHaveLength(1);
  });
});
