import { describe, expect, it } from 'vitest';
import { checkBounds, Histogram, LabelledHistograms } from '../../src/util/histogram.js';

describe('Histogram', () => {
  it('counts each value in the first bucket whose bound is at least it, cumulatively, with +Inf last', () => {
    const h = new Histogram([1, 2, 5]);
    for (const v of [0, 1, 1.5, 2, 4.9, 5, 5.1, 100, -3]) h.observe(v);
    expect(h.snapshot()).toEqual({ bounds: [1, 2, 5], cumulative: [3, 5, 7, 9], sum: 0 + 1 + 1.5 + 2 + 4.9 + 5 + 5.1 + 100 - 3, count: 9 });
  });

  it('starts empty and ignores NaN, which belongs in no bucket', () => {
    const h = new Histogram([0.5]);
    expect(h.snapshot()).toEqual({ bounds: [0.5], cumulative: [0, 0], sum: 0, count: 0 });
    h.observe(NaN);
    h.observe(Infinity);
    expect(h.snapshot().cumulative).toEqual([0, 1]);
    expect(h.count).toBe(1);
  });

  it('gives snapshots that later observations do not change', () => {
    const h = new Histogram([1]);
    h.observe(0.5);
    const before = h.snapshot();
    h.observe(0.5);
    expect(before.cumulative).toEqual([1, 1]);
    expect(h.snapshot().cumulative).toEqual([2, 2]);
  });

  it.each([[[]], [[1, 1]], [[2, 1]], [[1, Infinity]], [[NaN]]])('refuses the bounds %j', (bounds) => {
    expect(() => checkBounds(bounds)).toThrow(RangeError);
    expect(() => new Histogram(bounds)).toThrow(RangeError);
  });
});

describe('LabelledHistograms', () => {
  it('keeps one histogram per combination of label values, labelled in the declared order', () => {
    const h = new LabelledHistograms(['method', 'code'], [0.1, 1]);
    h.observe(['GET', '200'], 0.05);
    h.observe(['GET', '200'], 0.5);
    h.observe(['PUT', '400'], 3);
    expect(h.size).toBe(2);
    expect(h.snapshot()).toEqual([
      { labels: { method: 'GET', code: '200' }, histogram: { bounds: [0.1, 1], cumulative: [1, 2, 2], sum: 0.55, count: 2 } },
      { labels: { method: 'PUT', code: '400' }, histogram: { bounds: [0.1, 1], cumulative: [0, 0, 1], sum: 3, count: 1 } },
    ]);
  });

  it('does not mix up label values that contain the separator of another', () => {
    const h = new LabelledHistograms(['a', 'b'], [1]);
    h.observe(['x\u0000y', 'z'], 0);
    h.observe(['x', 'y\u0000z'], 0);
    expect(h.size).toBe(2);
  });
});
