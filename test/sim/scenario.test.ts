import { describe, expect, it } from 'vitest';
import { World } from '../../src/sim/world.js';
import { scenario, ScenarioError, SpreadTracker } from '../../src/sim/scenario.js';
import { fakeFactory } from './fake-membership.js';

const world = (seed = 1): World =>
  new World({ seed, factory: fakeFactory, profile: 'local', network: { link: { latency: { kind: 'constant', ms: 1 } } } });

describe('scenario', () => {
  it('reads as steps and runs them against the virtual clock', () => {
    const s = scenario(world())
      .addNodes(10)
      .joinAll()
      .waitForConvergence({ maxMs: 10_000 })
      .crash('n3')
      .waitUntil('everyone sees n3 dead', (w) => w.allSee('n3', 'dead'), { maxMs: 20_000 })
      .expectAllSee('n3', 'dead')
      .expectView('n1', 'n3', 'dead')
      .leave('n4')
      .waitMs(1000)
      .expectAllSee('n4', 'left')
      .expectConverged();
    expect(s.lastAdded).toHaveLength(10);
    expect(s.steps[0]).toMatch(/^t=0ms {2}add 10 nodes \(n1, n2, … n10 \(10\)\)$/);
    expect(s.steps.some((l) => l.includes('wait until the cluster converges: took'))).toBe(true);
  });

  it('partitions a group from every other node when no second group is given', () => {
    const s = scenario(world()).addNodes(6).joinAll().waitForConvergence().partition(['n1', 'n2']).waitMs(5000);
    expect(s.world.member('n1').statusOf('n5')).toBe('dead');
    expect(s.world.member('n5').statusOf('n1')).toBe('dead');
    expect(s.world.member('n1').statusOf('n2')).toBe('alive');
    expect(s.steps.at(-2)).toContain('partition n1, n2 <-/-> n3, n4, n5, n6');
  });

  it('fails a broken expectation with the seed and the steps taken', () => {
    const s = scenario(world(77)).addNodes(3).joinAll().waitMs(2000);
    let error: unknown;
    try {
      s.expectView('n1', 'n2', 'dead');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ScenarioError);
    const e = error as ScenarioError;
    expect(e.seed).toBe(77);
    expect(e.time).toBe(2000);
    expect(e.message).toContain('expected n1 to see n2 as dead');
    expect(e.message).toContain('seed 77 (rerun with the same seed to replay)');
    expect(e.message).toContain('t=0ms  2 nodes join'); // n1 is the node they join through
  });

  it('fails a wait that times out, saying how long it waited', () => {
    const s = scenario(world(5)).addNodes(2).joinAll();
    expect(() => s.waitUntil('pigs fly', () => false, { maxMs: 1500 })).toThrow(/timed out after 1\.50s waiting until pigs fly/);
  });

  it('tracks when each node first learns of a death, as a curve that ends at 100%', () => {
    const w = world(9);
    scenario(w).addNodes(12).joinAll().waitForConvergence();
    const tracker = new SpreadTracker(w, 'n7', 'dead');
    const start = w.now;
    w.crash('n7');
    expect(tracker.share()).toBe(0);
    w.runUntilTrue(() => tracker.completedAfterMs() !== undefined, 30_000);
    const took = tracker.completedAfterMs() as number;
    expect(took).toBeGreaterThan(0);
    expect(tracker.reached()).toBe(11);
    expect(tracker.share()).toBe(1);
    const curve = tracker.curve(took + 1000);
    expect(curve[0]).toEqual({ ms: 0, share: 0 });
    expect(curve.at(-1)).toEqual({ ms: took + 1000, share: 1 });
    for (let k = 1; k < curve.length; k++) {
      expect(curve[k]!.ms).toBeGreaterThanOrEqual(curve[k - 1]!.ms);
      expect(curve[k]!.share).toBeGreaterThanOrEqual(curve[k - 1]!.share);
    }
    expect(tracker.since).toBe(start);
    tracker.stop();
  });
});
