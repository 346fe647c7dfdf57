import { describe, expect, it } from 'vitest';
import { Network, NodeSet } from '../../src/sim/network.js';
import { SeededRandom } from '../../src/util/random.js';

const net = (seed = 1, link = {}): Network => new Network(new SeededRandom(seed), { link });

function delays(n: Network, count: number, channel: 'datagram' | 'stream' = 'datagram'): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const copies = n.route(0, 1, channel, 100);
    if (copies >= 1) out.push(n.delay0);
    if (copies === 2) out.push(n.delay1);
  }
  return out;
}

describe('Network', () => {
  it('delivers every datagram once after a constant 1 ms by default', () => {
    const n = net();
    expect(delays(n, 100)).toEqual(Array(100).fill(1));
  });

  it('draws uniform latencies within their bounds', () => {
    const d = delays(net(1, { latency: { kind: 'uniform', minMs: 2, maxMs: 5 } }), 2000);
    expect(Math.min(...d)).toBeGreaterThanOrEqual(2);
    expect(Math.max(...d)).toBeLessThan(5);
    const mean = d.reduce((a, b) => a + b, 0) / d.length;
    expect(mean).toBeGreaterThan(3.3);
    expect(mean).toBeLessThan(3.7);
  });

  it('draws lognormal latencies around their median with a right tail', () => {
    const d = delays(net(2, { latency: { kind: 'lognormal', medianMs: 10, sigma: 0.5 } }), 5000).sort((a, b) => a - b);
    const median = d[2500] as number;
    expect(median).toBeGreaterThan(9);
    expect(median).toBeLessThan(11);
    expect((d[4950] as number) - median).toBeGreaterThan(median - (d[50] as number));
  });

  it('never draws a normal latency below its minimum', () => {
    const d = delays(net(3, { latency: { kind: 'normal', meanMs: 1, stdDevMs: 5, minMs: 0.5 } }), 2000);
    expect(Math.min(...d)).toBe(0.5);
  });

  it('loses datagrams at about the loss rate but never loses streams', () => {
    const n = net(4, { lossRate: 0.3 });
    expect(delays(n, 10_000).length).toBeGreaterThan(6700);
    expect(delays(n, 10_000).length).toBeLessThan(7300);
    expect(delays(n, 1000, 'stream').length).toBe(1000);
    expect(n.stats.lost).toBeGreaterThan(5000);
  });

  it('duplicates datagrams at about the duplication rate, each copy with its own latency', () => {
    const n = net(5, { duplicateRate: 0.5, latency: { kind: 'uniform', minMs: 0, maxMs: 10 } });
    let twice = 0;
    let differ = 0;
    for (let i = 0; i < 2000; i++) {
      if (n.route(0, 1, 'datagram', 10) === 2) {
        twice++;
        if (n.delay0 !== n.delay1) differ++;
      }
    }
    expect(twice).toBeGreaterThan(900);
    expect(twice).toBeLessThan(1100);
    expect(differ).toBe(twice);
    expect(n.stats.duplicated).toBe(twice);
    expect(delays(n, 100, 'stream').length).toBe(100);
  });

  it('charges a stream three one-way latencies and adds serialisation time for bandwidth', () => {
    const n = net(1, { latency: { kind: 'constant', ms: 2 }, bytesPerMs: 100 });
    expect(n.route(0, 1, 'stream', 1000)).toBe(1);
    expect(n.delay0).toBe(6 + 10);
    expect(n.route(0, 1, 'datagram', 1000)).toBe(1);
    expect(n.delay0).toBe(2 + 10);
  });

  it('cuts both directions with a two-way partition, streams included, until healed', () => {
    const n = net();
    const id = n.partition([0, 1], [2]);
    expect(n.route(0, 2, 'datagram', 1)).toBe(0);
    expect(n.route(2, 1, 'stream', 1)).toBe(0);
    expect(n.route(0, 1, 'datagram', 1)).toBe(1);
    expect(n.route(2, 3, 'datagram', 1)).toBe(1);
    expect(n.stats.blocked).toBe(2);
    expect(n.heal(id)).toBe(1);
    expect(n.route(0, 2, 'datagram', 1)).toBe(1);
  });

  it('cuts only a → b with a one-way partition', () => {
    const n = net();
    n.partition([0], [1], true);
    expect(n.isBlocked(0, 1)).toBe(true);
    expect(n.isBlocked(1, 0)).toBe(false);
  });

  it('heals every partition when no id is given', () => {
    const n = net();
    n.partition([0], [1]);
    n.partition([2], [3], true);
    expect(n.partitionCount).toBe(2);
    expect(n.heal()).toBe(2);
    expect(n.isBlocked(0, 1)).toBe(false);
  });

  it('applies the most recent link rule that covers a pair, in both directions by default', () => {
    const n = net();
    n.setLink([0], [1], { latency: { kind: 'constant', ms: 50 } });
    const id = n.setLink([0], [1, 2], { latency: { kind: 'constant', ms: 80 } }, false);
    expect(n.linkFor(0, 1).latency).toEqual({ kind: 'constant', ms: 80 });
    expect(n.linkFor(1, 0).latency).toEqual({ kind: 'constant', ms: 50 });
    expect(n.linkFor(2, 0).latency).toEqual({ kind: 'constant', ms: 1 });
    expect(n.clearLink(id)).toBe(true);
    expect(n.linkFor(0, 1).latency).toEqual({ kind: 'constant', ms: 50 });
  });

  it('rejects impossible links with a message naming each problem', () => {
    expect(() => net(1, { lossRate: 1.5 })).toThrow(/lossRate must be a probability/);
    expect(() => net(1, { latency: { kind: 'uniform', minMs: 5, maxMs: 1 } })).toThrow(/maxMs must be >= latency.minMs/);
    expect(() => net(1, { latency: { kind: 'constant', ms: -1 }, duplicateRate: -0.1 })).toThrow(/latency.ms .*duplicateRate/);
  });

  it('makes the same decisions for the same seed', () => {
    const link = { lossRate: 0.2, duplicateRate: 0.1, latency: { kind: 'lognormal', medianMs: 3, sigma: 0.4 } } as const;
    expect(delays(net(9, link), 500)).toEqual(delays(net(9, link), 500));
    expect(delays(net(9, link), 500)).not.toEqual(delays(net(10, link), 500));
  });

  it('keeps node sets as masks that grow on demand', () => {
    const s = new NodeSet([3, 3, 70_000]);
    expect(s.size).toBe(2);
    expect(s.has(3)).toBe(true);
    expect(s.has(70_000)).toBe(true);
    expect(s.has(4)).toBe(false);
    expect(s.has(1_000_000)).toBe(false);
    expect(() => s.add(-1)).toThrow(/non-negative/);
  });
});
