import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { newer, newest, nextIncarnation } from '../../src/membership/incarnation.js';
import { beats } from '../../src/membership/precedence.js';

describe('incarnations in serial order (RFC 1982)', () => {
  it('is the usual order for nearby values, and wraps at 2^32', () => {
    expect(newer(5, 4)).toBe(true);
    expect(newer(4, 5)).toBe(false);
    expect(newer(4, 4)).toBe(false);
    expect(newer(0, 0xffff_ffff)).toBe(true);
    expect(nextIncarnation(0xffff_ffff)).toBe(0);
    expect(newest(0xffff_fffe, 1)).toBe(1);
  });

  it('has no largest value: every claim is outbid by the next incarnation', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), (x) => newer(nextIncarnation(x), x) && beats(nextIncarnation(x), 'alive', x, 'left')));
  });

  it('reads a value 2^31 or more ahead as not newer, so a far jump is ignored', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), fc.integer({ min: 0x8000_0000, max: 0xffff_ffff }), (x, d) => !newer((x + d) >>> 0, x)),
    );
  });

  it('is antisymmetric and, within a window of 2^31, transitive', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), fc.integer({ min: 1, max: 0x3fff_ffff }), fc.integer({ min: 1, max: 0x3fff_ffff }), (x, d1, d2) => {
        const y = (x + d1) >>> 0;
        const z = (y + d2) >>> 0;
        return newer(y, x) && !newer(x, y) && newer(z, y) && newer(z, x);
      }),
    );
  });
});
