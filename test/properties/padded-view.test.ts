/**
 * A view padded with members that do not exist cannot drown failure detection:
 *  - a push-pull claiming 100,000 members adds at most maxNewMembersPerPushPull of them (and one
 *    peer at most maxNewMembersPerPeerPerMinute a minute), the rest dropped and counted;
 *  - with unreachable members in every view (made up, or gone), a real crash is still dead in every
 *    view within completeness' bound, and nobody's health score (Lifeguard) is pushed up by relays
 *    that never answer: members not heard from get at most every other probe and are not relays
 *    whose nacks are expected.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodePushPullPacket } from '../../src/wire/codec.js';
import type { MemberRecord } from '../../src/wire/messages.js';
import { arbSeed, disseminationMs, makeWorld, recordDeaths, suspicionMaxMs } from './support.js';

const fake = (k: number): MemberRecord => ({
  node: `fake-${k}`,
  addr: { host: `192.0.2.${k % 250}`, port: 10_000 + Math.floor(k / 250) }, // TEST-NET-1: no node there
  incarnation: 1,
  status: 'alive',
  state: { payload: null },
});
const attacker = { host: '198.51.100.9', port: 7946 };

describe('a padded view', () => {
  it('a push-pull of 100,000 made-up members adds at most the per-push-pull cap, counting the rest', () => {
    const world = makeWorld(5);
    const names = world.buildConverged(10);
    world.runFor(2000);
    const victim = names[0] as string;
    const records = Array.from({ length: 100_000 }, (_, k) => fake(k));
    world.inject(victim, attacker, encodePushPullPacket({ type: 'push-pull', join: true, reply: true, source: 'mallory', members: records }), 'stream');
    const m = world.member(victim);
    expect(m.members().length).toBe(10 + 1024);
    expect(m.counters['dropped.new-member-limit']).toBe(100_000 - 1024);
    // The same peer's next push-pull within the minute: its minute allows 4096 in all.
    world.inject(victim, attacker, encodePushPullPacket({ type: 'push-pull', join: false, reply: false, source: 'mallory', members: records.slice(1024) }), 'stream');
    expect(m.members().length).toBe(10 + 2048);
    for (let i = 0; i < 3; i++) {
      world.inject(victim, attacker, encodePushPullPacket({ type: 'push-pull', join: false, reply: false, source: 'mallory', members: records.slice(2048 + 1024 * i) }), 'stream');
    }
    expect(m.members().length).toBe(10 + 4096);
  });

  it('after a push-pull of 100,000 made-up members into every view, a real crash is dead everywhere within 60 s', () => {
    const world = makeWorld(11);
    const o = world.options;
    const names = world.buildConverged(10);
    world.runFor(2 * o.probeIntervalMs);
    const records = Array.from({ length: 100_000 }, (_, k) => fake(k));
    const packet = encodePushPullPacket({ type: 'push-pull', join: true, reply: true, source: 'mallory', members: records });
    for (const name of names) world.inject(name, attacker, packet, 'stream');
    world.runFor(20 * o.probeIntervalMs);
    const deaths = recordDeaths(world);
    const victim = names[3] as string;
    world.crash(victim);
    const at = world.runUntilTrue(() => names.filter((x) => x !== victim).every((x) => world.member(x).statusOf(victim) === 'dead'), 60_000);
    expect(at, `${victim} not dead everywhere within 60 s`).toBeDefined();
    expect(deaths.filter((d) => names.includes(d.member) && d.member !== victim)).toEqual([]);
  });

  const crashIsDetected = (seed: number, n: number, fakes: number): void => {
    const world = makeWorld(seed);
    const o = world.options;
    const names = world.buildConverged(n);
    world.runFor(2 * o.probeIntervalMs);
    // Every node is told of `fakes` members that never answer.
    const records = Array.from({ length: fakes }, (_, k) => fake(k));
    for (const name of names) world.inject(name, attacker, encodePushPullPacket({ type: 'push-pull', join: false, reply: false, source: 'mallory', members: records }), 'stream');
    world.runFor(20 * o.probeIntervalMs); // the real members answer and are heard; the fakes go suspect
    const deaths = recordDeaths(world);
    const victim = names[seed % n] as string;
    world.crash(victim);
    const bound = 2 * 2 * o.probeIntervalMs + suspicionMaxMs(o, n + fakes) + disseminationMs(o, n + fakes);
    const at = world.runUntilTrue(() => names.filter((x) => x !== victim).every((x) => world.member(x).statusOf(victim) === 'dead'), bound);
    const tag = `seed ${seed}, N=${n}, fakes ${fakes}`;
    expect(at, `${tag}: ${victim} not dead everywhere within ${bound} ms`).toBeDefined();
    expect(deaths.filter((d) => names.includes(d.member) && d.member !== victim), `${tag}: a live node declared dead`).toEqual([]);
    for (const x of names) if (x !== victim) expect((world.member(x) as unknown as { healthScore: number }).healthScore, `${tag}: ${x}'s health`).toBeLessThanOrEqual(1);
  };

  it('with unreachable members in every view, a real crash is dead everywhere within the completeness bound', () => {
    fc.assert(fc.property(arbSeed, fc.integer({ min: 4, max: 20 }), fc.integer({ min: 1, max: 30 }), crashIsDetected), { numRuns: 12 });
  });
});
