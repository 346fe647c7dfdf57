import { describe, expect, it } from 'vitest';
import { LAN, PROFILES, resolveOptions } from '../../src/membership/options.js';
import { InvalidOptionsError } from '../../src/errors.js';

describe('membership options', () => {
  it('defaults to the lan profile', () => {
    expect(resolveOptions()).toEqual(LAN);
    expect(LAN.probeIntervalMs).toBe(1000);
    expect(LAN.probeTimeoutMs).toBe(500);
    expect(LAN.gossipIntervalMs).toBe(200);
    expect(LAN.gossipNodes).toBe(3);
    expect(LAN.suspicionMult).toBe(4);
    expect(LAN.retransmitMult).toBe(4);
    expect(LAN.pushPullIntervalMs).toBe(30_000);
    expect(LAN.maxPacketBytes).toBe(1400);
  });

  it('makes wan and local small deltas over lan', () => {
    for (const name of ['wan', 'local'] as const) {
      const p = PROFILES[name];
      const differing = Object.keys(LAN).filter((k) => p[k as keyof typeof LAN] !== LAN[k as keyof typeof LAN]);
      expect(differing.length).toBeGreaterThan(0);
      expect(differing.length).toBeLessThan(Object.keys(LAN).length / 2 + 2);
    }
  });

  it('applies overrides over a profile', () => {
    const o = resolveOptions({ gossipNodes: 5 }, 'wan');
    expect(o.gossipNodes).toBe(5);
    expect(o.probeIntervalMs).toBe(5000);
  });

  it('reports every violated constraint at once', () => {
    try {
      resolveOptions({ probeIntervalMs: -1, gossipNodes: 1.5, maxPacketBytes: 10, bogus: 1 } as never);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidOptionsError);
      const e = err as InvalidOptionsError;
      expect(e.code).toBe('HEARSAY_ERR_INVALID_OPTIONS');
      expect(e.problems.some((p) => p.startsWith('probeIntervalMs'))).toBe(true);
      expect(e.problems.some((p) => p.startsWith('gossipNodes'))).toBe(true);
      expect(e.problems.some((p) => p.startsWith('maxPacketBytes'))).toBe(true);
      expect(e.problems.some((p) => p.includes('bogus'))).toBe(true);
      expect(e.message).toContain('fix the listed options');
    }
  });

  it('rejects a probe timeout that is not below the probe interval', () => {
    expect(() => resolveOptions({ probeTimeoutMs: 1000 })).toThrow(/probeTimeoutMs/);
  });

  it('rejects an unknown profile', () => {
    expect(() => resolveOptions({}, 'moon' as never)).toThrow(/profile "moon" is unknown/);
  });

  it('freezes resolved options', () => {
    expect(Object.isFrozen(resolveOptions())).toBe(true);
  });
});
