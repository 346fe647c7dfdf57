import { describe, expect, it } from 'vitest';
import { Eta, formatEta } from '../../src/util/eta.js';

describe('Eta', () => {
  it('knows nothing before work was measured', () => {
    const eta = new Eta([100, 100], 0);
    expect(eta.remainingMs()).toBeUndefined();
    expect(eta.total).toBe(2);
    expect(eta.current).toBe(1);
  });

  it('is the expected work left times the measured wall time per unit of work', () => {
    // simulated ms as the work: 1000 sim ms took 250 wall ms, so a wall ms is 4 sim ms
    const eta = new Eta([2000, 3000, 1000], 10_000);
    eta.update(0, 1000, 10_250);
    expect(eta.remainingMs()).toBe((1000 + 3000 + 1000) * 0.25);
    eta.update(1, 500, 10_500); // phase 0 ended at 1000 (faster than expected): its estimate is gone
    expect(eta.current).toBe(2);
    expect(eta.remainingMs()).toBeCloseTo((2500 + 1000) * (500 / 1500));
  });

  it('gives a phase that overruns its estimate another quarter of what it has done', () => {
    const eta = new Eta([100, 100], 0);
    eta.update(0, 400, 400);
    expect(eta.remainingMs()).toBe(100 + 100);
  });

  it('takes a new estimate for a phase not yet started, and ignores one for the phase running', () => {
    const eta = new Eta([100, 100], 0);
    eta.update(0, 50, 50);
    eta.expect(1, 900);
    eta.expect(0, 1e6);
    expect(eta.remainingMs()).toBe(50 + 900);
  });

  it('formats the time left for a person', () => {
    expect(formatEta(undefined)).toBe('ETA ?');
    expect(formatEta(0)).toBe('ETA 0 s');
    expect(formatEta(1)).toBe('ETA 1 s');
    expect(formatEta(59_000)).toBe('ETA 59 s');
    expect(formatEta(125_000)).toBe('ETA 2 min 05 s');
    expect(formatEta(2 * 3600_000 + 7 * 60_000)).toBe('ETA 2 h 07 min');
  });
});
