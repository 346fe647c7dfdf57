import { describe, expect, it } from 'vitest';
import { beats } from '../../src/membership/precedence.js';
import type { MemberStatus } from '../../src/wire/messages.js';

describe('precedence of claims about a member', () => {
  const cases: [number, MemberStatus, number, MemberStatus, boolean][] = [
    [2, 'alive', 1, 'alive', true],
    [1, 'alive', 1, 'alive', false],
    [1, 'alive', 1, 'suspect', false],
    [2, 'alive', 1, 'suspect', true],
    [1, 'suspect', 1, 'alive', true],
    [0, 'suspect', 1, 'alive', false],
    [1, 'suspect', 1, 'suspect', false],
    [2, 'suspect', 1, 'suspect', true],
    [1, 'dead', 1, 'alive', true],
    [1, 'dead', 1, 'suspect', true],
    [1, 'dead', 1, 'dead', false],
    [2, 'dead', 1, 'dead', true],
    [1, 'alive', 1, 'dead', false],
    [2, 'alive', 1, 'dead', true],
    [2, 'suspect', 1, 'dead', true],
    [1, 'left', 1, 'dead', true],
    [1, 'dead', 1, 'left', false],
    [2, 'dead', 1, 'left', true],
    [1, 'alive', 1, 'left', false],
    [0, 'left', 1, 'alive', false],
  ];
  it.each(cases)('%s %s over held %s %s → %s', (i, s, j, held, expected) => {
    expect(beats(i, s, j, held)).toBe(expected);
  });

  it('is a total order: exactly one of two different claims beats the other', () => {
    const statuses: MemberStatus[] = ['alive', 'suspect', 'dead', 'left'];
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++)
        for (const a of statuses)
          for (const b of statuses) {
            if (i === j && a === b) expect(beats(i, a, j, b)).toBe(false);
            else expect(beats(i, a, j, b)).not.toBe(beats(j, b, i, a));
          }
  });
});
