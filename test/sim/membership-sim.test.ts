/**
 * The simulator driving the real Membership (and codec): small clusters, exact replays.
 */
import { describe, expect, it } from 'vitest';
import { createWorld, scenario, type World } from '../../src/sim/index.js';

const lan = (seed: number): World =>
  createWorld({ seed, profile: 'local', network: { link: { latency: { kind: 'lognormal', medianMs: 0.5, sigma: 0.3 } } } });

describe('the simulator with the real membership', () => {
  it('forms a 20-node cluster by joins and agrees on a crash and a leave', () => {
    const s = scenario(lan(1))
      .addNodes(20)
      .joinAll()
      .waitForConvergence({ maxMs: 20_000 })
      .crash('n7')
      .waitUntil('every live node sees n7 dead', (w) => w.allSee('n7', 'dead'), { maxMs: 60_000 })
      .leave('n8')
      .waitUntil('every live node sees n8 left', (w) => w.allSee('n8', 'left'), { maxMs: 30_000 })
      .waitMs(5000)
      .expectConverged()
      .expect('no node was falsely declared dead', (w) => w.stats.falseDeaths === 0);
    expect(s.world.lifecycleOf('n8')).toBe('left');
    expect(s.world.totalTraffic().sent.datagram.packets).toBeGreaterThan(0);
    expect(s.world.totalTraffic().sent.stream.packets).toBeGreaterThan(0);
  });

  it('replays a lossy run exactly with the same seed', () => {
    const run = (seed: number): unknown => {
      const w = createWorld({
        seed,
        profile: 'local',
        network: { link: { latency: { kind: 'lognormal', medianMs: 1, sigma: 0.5 }, lossRate: 0.1, duplicateRate: 0.05 } },
      });
      const events: string[] = [];
      w.onEvent((node, e, t) => events.push(`${t} ${node} ${e.type} ${'member' in e ? `${e.member.name}:${e.member.incarnation}` : ''}`));
      scenario(w).addNodes(15).joinAll().waitMs(10_000).crash('n3').pause('n4', 3000).waitMs(15_000).leave('n5').waitMs(5000);
      return { hash: w.traceHash, stats: { ...w.stats }, net: { ...w.network.stats }, traffic: w.totalTraffic(), counters: w.membershipCounters(), events };
    };
    const a = run(1234);
    expect(run(1234)).toEqual(a);
    expect((run(1235) as { hash: number }).hash).not.toBe((a as { hash: number }).hash);
  });

  it('suspects a crashed node as soon as its refused TCP ping says nothing listens, and a paused one only when the interval ends', () => {
    const w = lan(11);
    const t: Record<string, number> = {};
    w.onEvent((_node, e, at) => {
      if (e.type === 'member-suspect') t[e.member.name] ??= at;
    });
    scenario(w).addNodes(10).joinAll().waitForConvergence({ maxMs: 20_000 }).waitMs(5000);
    w.crash('n4');
    w.pause('n6', 60_000);
    w.runUntilTrue(() => t['n4'] !== undefined && t['n6'] !== undefined, 30_000, 10);
    const counters = w.membershipCounters();
    // The crash was answered by refusals; the pause (the kernel still accepts) never was.
    expect(counters.refusedStreamProbes).toBeGreaterThan(0);
    expect(w.stats.streamsRefused).toBeGreaterThan(0);
    expect(t['n4']).toBeDefined();
    expect(t['n6']).toBeDefined();
  });

  it('keeps a prebuilt 200-node cluster converged, with no false deaths', () => {
    const w = lan(3);
    scenario(w).buildConverged(200).expectConverged().waitMs(20_000).expectConverged();
    expect(w.stats.falseDeaths).toBe(0);
    expect(w.stats.packetsSent).toBeGreaterThan(0);
  });

  it('lets a briefly paused node refute its suspicion and stay in the cluster', () => {
    const w = lan(4);
    scenario(w)
      .addNodes(10)
      .joinAll()
      .waitForConvergence({ maxMs: 20_000 })
      .pause('n2', 1500)
      .waitMs(1600)
      .waitForConvergence({ maxMs: 30_000 });
    expect(w.allSee('n2', 'alive')).toBe(true);
  });

  it('merges a healed partition back into one cluster', () => {
    const w = lan(5);
    scenario(w)
      .addNodes(10)
      .joinAll()
      .waitForConvergence({ maxMs: 20_000 })
      .partition(['n1', 'n2', 'n3', 'n4', 'n5'])
      .waitUntil('each side sees the other dead', (x) => x.member('n1').statusOf('n6') === 'dead' && x.member('n6').statusOf('n1') === 'dead', {
        maxMs: 60_000,
      })
      .heal()
      .waitForConvergence({ maxMs: 120_000 });
  });

  it('brings a restarted node back under the same name', () => {
    const w = lan(6);
    scenario(w)
      .addNodes(8)
      .joinAll()
      .waitForConvergence({ maxMs: 20_000 })
      .crash('n4')
      .waitUntil('every live node sees n4 dead', (x) => x.allSee('n4', 'dead'), { maxMs: 60_000 })
      .restart('n4')
      .waitForConvergence({ maxMs: 60_000 });
    expect(w.allSee('n4', 'alive')).toBe(true);
  });
});
