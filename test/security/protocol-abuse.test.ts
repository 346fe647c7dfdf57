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

  it('a forged alive from another address never moves a live member, at any incarnation; it is reported as a conflict', () => {
    const h = cluster();
    const realAddr = h.addrOf('c');
    const inc = h.node('a').member('c')?.incarnation ?? 0;
    for (const claim of [inc, inc + 1, 0x7000_0000, MAX_INCARNATION]) {
      forge(h, 'a', { type: 'alive', node: 'c', addr: MALLORY, incarnation: claim, state: { payload: null } });
      expect(h.node('a').member('c')).toMatchObject({ host: realAddr.host, port: realAddr.port, status: 'alive' });
    }
    expect(h.eventsOf('a', 'member-conflict')[0]).toEqual({ type: 'member-conflict', name: 'c', holder: realAddr, other: MALLORY, incarnation: inc });
    spread(h);
    for (const n of ['a', 'b', 'c']) expect(h.node(n).member('c')).toMatchObject({ host: realAddr.host, port: realAddr.port, status: 'alive' });
  });

  it('incarnations only grow: a lower or equal one never replaces a member record', () => {
    const h = cluster();
    const inc = h.node('a').member('b')?.incarnation ?? 0;
    forge(h, 'a', { type: 'alive', node: 'b', addr: h.addrOf('b'), incarnation: inc + 5, state: { payload: null } });
    forge(h, 'a', { type: 'suspect', node: 'b', incarnation: inc + 1, from: 'mallory' });
    forge(h, 'a', { type: 'dead', node: 'b', incarnation: inc + 2, from: 'mallory' });
    forge(h, 'a', { type: 'alive', node: 'b', addr: MALLORY, incarnation: inc + 3, state: { payload: null } });
    expect(h.node('a').member('b')).toMatchObject({ status: 'alive', incarnation: inc + 5, port: h.addrOf('b').port });
  });

  it('a name claimed by two addresses at one incarnation is reported once and the first address keeps it', () => {
    const h = cluster();
    const v = h.node('a').member('b');
    forge(h, 'a', { type: 'alive', node: 'b', addr: MALLORY, incarnation: v?.incarnation ?? 0, state: { payload: null } });
    forge(h, 'a', { type: 'alive', node: 'b', addr: MALLORY, incarnation: v?.incarnation ?? 0, state: { payload: null } });
    expect(h.node('a').member('b')).toMatchObject({ host: v?.host, port: v?.port });
    expect(h.eventsOf('a', 'member-conflict')).toEqual([
      { type: 'member-conflict', name: 'b', holder: { host: v?.host, port: v?.port }, other: MALLORY, incarnation: v?.incarnation },
    ]);
    expect(h.node('a').counters.nameConflicts).toBe(1);
  });

  // Issue 11.4: no claim at any incarnation locks a member out, even across its restart.
  const lockouts: [string, (inc: number) => number][] = [
    ['the largest incarnation', () => MAX_INCARNATION],
    ['2^31 above', (inc) => (inc + 0x8000_0000) >>> 0],
    ['just under 2^31 above', (inc) => (inc + 0x7fff_ffff) >>> 0],
    ['one above', (inc) => inc + 1],
  ];
  for (const [label, at] of lockouts) {
    for (const kind of ['alive', 'suspect', 'dead', 'leave'] as const) {
      it(`a forged ${kind} at ${label} does not keep the real node out, before or after it restarts`, () => {
        const h = cluster();
        const inc = at(h.node('c').incarnation);
        const msg: Message =
          kind === 'alive' ? { type: 'alive', node: 'c', addr: h.addrOf('c'), incarnation: inc, state: { payload: new Uint8Array([1]) } }
          : kind === 'suspect' ? { type: 'suspect', node: 'c', incarnation: inc, from: 'mallory' }
          : { type: 'dead', node: 'c', incarnation: inc, from: kind === 'leave' ? 'c' : 'mallory' };
        for (const n of ['a', 'b']) forge(h, n, msg);
        spread(h);
        for (const n of ['a', 'b']) expect(h.node(n).member('c'), `${n}'s view of c`).toMatchObject({ status: 'alive', state: { tags: {} } });
        // c restarts (no data dir: incarnation 0) while the others still hold the forged claim.
        for (const n of ['a', 'b']) forge(h, n, msg);
        h.nodes.delete('c');
        h.clearTimers('c');
        const c = h.add('c');
        expect(c.addr.port).toBe(3); // the same address as before
        h.apply('c', c.start(h.now));
        h.apply('c', c.join([h.addrOf('a')], h.now));
        h.deliverAll();
        spread(h);
        for (const n of ['a', 'b']) expect(h.node(n).member('c'), `${n}'s view of restarted c`).toMatchObject({ status: 'alive', port: 3, state: { tags: {} } });
      });
    }
  }
});
