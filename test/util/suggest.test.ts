import { describe, expect, it } from 'vitest';
import { didYouMean, editDistance, suggest } from '../../src/util/suggest.js';

describe('did you mean', () => {
  it.each([
    ['bind', 'bind', 0],
    ['bnid', 'bind', 1],
    ['membrs', 'members', 1],
    ['JOIN', 'join', 0],
    ['', 'abc', 3],
    ['retry-jion', 'retry-join', 1],
    ['kitten', 'sitting', 3],
  ])('edit distance %j → %j is %d', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });

  it('suggests the nearest names, and nothing when nothing is near', () => {
    const flags = ['bind', 'advertise', 'join', 'retry-join', 'http', 'dns'];
    expect(suggest('jion', flags)).toEqual(['join']);
    expect(suggest('retry', flags)).toEqual(['retry-join']);
    expect(suggest('zzzzzz', flags)).toEqual([]);
    expect(didYouMean('htp', flags, (n) => `--${n}`)).toBe(' (did you mean --http?)');
    expect(didYouMean('qqq', flags)).toBe('');
  });
});
