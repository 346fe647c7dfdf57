/**
 * One name, one owner (issue 11.3). Two live processes with one node name: the mesh keeps the
 * incumbent's address, the newcomer learns it lost (a `member-conflict` event with `lost`) and stops
 * claiming the name, and every node that sees both claims reports the conflict. A restart that
 * moved to a new address is no conflict once the old address is dead, and is not made to stop
 * while the old address no longer answers.
 */
import { describe, expect, it } from 'vitest';
import { Hand } from './harness.js';
import { encodeMessage, encodePacket } from '../../src/wire/codec.js';

const lostEvents = (h: Hand, key: string): unknown[] => h.eventsOf(key, 'member-conflict').filter((e) => 'lost' in e && e.lost === true);

function cluster(names: string[]): Hand {
  const h = new Hand();
  for (const n of names) h.add(n);
  for (const n of names) h.apply(n, h.node(n).start(h.now));
  h.joinAll();
  return h;
}

describe('two live processes with one name', () => {
  it('the newcomer loses, stops sending, and the mesh keeps the incumbent; every node that sees it reports it', () => {
    const h = cluster(['a', 'b', 'c']);
    h.runUntil(h.now + 5_000);
    const incumbent = h.addrOf('c');
    // A second process named c (test key c2) joins through a.
    const c2 = h.add('c', undefined, 'c2');
    h.apply('c2', c2.start(h.now));
    h.apply('c2', c2.join([h.addrOf('a')], h.now));
    h.deliverAll();
    h.runUntil(h.now + 30_000);

    expect(c2.conflicted).toBe(true);
    expect(lostEvents(h, 'c2')).toEqual([{ type: 'member-conflict', name: 'c', holder: incumbent, other: c2.addr, incarnation: c2.incarnation, lost: true }]);
    expect(h.node('c').conflicted).toBe(false);
    for (const n of ['a', 'b']) {
      expect(h.node(n).member('c'), `${n}'s view of c`).toMatchObject({ host: incumbent.host, port: incumbent.port, status: 'alive' });
    }
    // Every node that saw both claims said so: the peers, and the incumbent (the loser checked it).
    for (const n of ['a', 'b', 'c']) {
      const seen = h.eventsOf(n, 'member-conflict');
      expect(seen.length, `${n} reports the conflict`).toBeGreaterThanOrEqual(1);
      expect(seen[0]).toMatchObject({ name: 'c', other: c2.addr });
      expect(h.node(n).counters.nameConflicts).toBeGreaterThanOrEqual(1);
    }
    // The loser sends nothing more: no gossip, no leave about the name.
    h.packets.length = 0;
    h.runUntil(h.now + 10_000);
    expect(h.packets.filter((p) => p.from === 'c2')).toEqual([]);
    expect(h.node('c').statusOf('c')).toBe('alive');
    for (const n of ['a', 'b']) expect(h.node(n).statusOf('c')).toBe('alive');
  });

  it('two halves that each took the name settle on one owner (the lower address), which every view then holds', () => {
    // {a, c} and {b, c2} grow apart, then b joins a.
    const h = new Hand();
    h.add('a');
    h.add('b');
    h.add('c');
    h.add('c', undefined, 'c2');
    for (const k of ['a', 'b', 'c', 'c2']) h.apply(k, h.node(k).start(h.now));
    h.apply('c', h.node('c').join([h.addrOf('a')], h.now));
    h.apply('c2', h.node('c2').join([h.addrOf('b')], h.now));
    h.deliverAll();
    h.runUntil(h.now + 5_000);
    expect(h.node('a').member('c')?.port).toBe(h.addrOf('c').port);
    expect(h.node('b').member('c')?.port).toBe(h.addrOf('c2').port);
    h.apply('b', h.node('b').join([h.addrOf('a')], h.now));
    h.deliverAll();
    h.runUntil(h.now + 120_000);

    const lost = ['c', 'c2'].filter((k) => h.node(k).conflicted);
    expect(lost).toEqual(['c2']); // c is at port 3, c2 at port 4: the lower address keeps the name
    for (const n of ['a', 'b']) {
      expect(h.node(n).member('c'), `${n}'s view of c`).toMatchObject({ port: h.addrOf('c').port, status: 'alive' });
    }
  });

  it('a node restarted at a new address before the old one was found dead is not stopped, and takes the name over once it is', () => {
    const h = cluster(['a', 'b', 'c']);
    h.runUntil(h.now + 5_000);
    const down = new Set(['c']); // c crashed
    const c2 = h.add('c', undefined, 'c2');
    h.apply('c2', c2.start(h.now));
    h.apply('c2', c2.join([h.addrOf('a')], h.now));
    h.deliverAll((p) => down.has(p.to) || down.has(p.from));
    expect(h.node('a').member('c')?.port).toBe(h.addrOf('c').port); // the old address keeps it for now
    h.runUntil(h.now + 120_000, down);
    expect(c2.conflicted).toBe(false);
    expect(lostEvents(h, 'c2')).toEqual([]);
    for (const n of ['a', 'b']) {
      expect(h.node(n).member('c'), `${n}'s view of c`).toMatchObject({ port: c2.addr.port, status: 'alive' });
    }
  });

  it('an established node is not stopped by a process that claims its name from a lower address and answers for it', () => {
    const h = cluster(['a', 'b', 'c']);
    h.runUntil(h.now + 60_000); // past the start-up window
    const impostor = h.add('c', undefined, 'mallory', 'a'); // host 'a' sorts before 'h'
    h.apply('mallory', impostor.start(h.now));
    // Mallory tells c (and a) that c lives at mallory's address, at a newer incarnation.
    const alive = { type: 'alive' as const, node: 'c', addr: impostor.addr, incarnation: h.node('c').incarnation + 5, state: { tags: {}, payload: null } };
    for (const n of ['c', 'a']) h.apply(n, h.node(n).handlePacket(impostor.addr, encodePacket([encodeMessage(alive)]), 'datagram', h.now));
    h.deliverAll();
    h.runUntil(h.now + 30_000);
    expect(h.node('c').conflicted).toBe(false);
    expect(h.eventsOf('c', 'member-conflict')[0]).toMatchObject({ name: 'c', holder: h.addrOf('c'), other: impostor.addr });
    for (const n of ['a', 'b']) expect(h.node(n).member('c'), `${n}'s view of c`).toMatchObject({ host: 'h', port: h.addrOf('c').port, status: 'alive' });
  });
});
