import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/util/duration.js';

describe('parseDuration', () => {
  it('parses unit strings', () => {
    const cases: [string, number][] = [
      ['500ms', 500],
      ['10s', 10_000],
      ['1m', 60_000],
      ['2h', 7_200_000],
      ['1m30s', 90_000],
      ['1h2m3s4ms', 3_723_004],
      ['10s500ms', 10_500],
      ['0s', 0],
      ['0ms', 0],
      ['1ms', 1],
      ['1.5s', 1500],
      ['0.25m', 15_000],
      ['1.5h', 5_400_000],
      ['007s', 7000],
    ];
    for (const [s, ms] of cases) expect(parseDuration(s), s).toBe(ms);
  });

  it('reads "ms" as milliseconds, not minutes then seconds', () => {
    expect(parseDuration('5ms')).toBe(5);
    expect(parseDuration('5m5s')).toBe(305_000);
    expect(parseDuration('5m5ms')).toBe(300_005);
  });

  it('takes a bare digit string as milliseconds', () => {
    expect(parseDuration('10')).toBe(10);
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('250')).toBe(250);
  });

  it('takes finite non-negative numbers as milliseconds, rounded', () => {
    expect(parseDuration(0)).toBe(0);
    expect(parseDuration(1500)).toBe(1500);
    expect(parseDuration(1.4)).toBe(1);
    expect(parseDuration(1.5)).toBe(2);
  });

  it('rounds fractional milliseconds from strings', () => {
    expect(parseDuration('1.5ms')).toBe(2);
    expect(parseDuration('0.0001s')).toBe(0);
    expect(parseDuration('0.0015s')).toBe(2);
  });

  it('trims surrounding whitespace', () => {
    expect(parseDuration('  10s ')).toBe(10_000);
    expect(parseDuration('\t250\n')).toBe(250);
  });

  it('rejects what is not a duration', () => {
    const bad: unknown[] = [
      '',
      '   ',
      '10x',
      '-1s',
      '+1s',
      's',
      'ms',
      '1.5',
      '.5s',
      '5.s',
      '1e3ms',
      '10 s',
      '1m 30s',
      '1S',
      '1d',
      '10s!',
      'NaN',
      'Infinity',
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      -1,
      -0.6,
      null,
      undefined,
      true,
      {},
      ['10s'],
      10n,
    ];
    // '1.5' (a decimal without a unit) is not a bare digit string.
    for (const v of bad) expect(parseDuration(v), String(v)).toBeUndefined();
  });

  it('a digit string too large for a double is not a duration', () => {
    expect(parseDuration('9'.repeat(400))).toBeUndefined();
    expect(parseDuration(`${'9'.repeat(400)}s`)).toBeUndefined();
    expect(parseDuration('9'.repeat(20))).toBe(1e20);
  });

  it('is not confused by an earlier failed parse (no state carried over)', () => {
    expect(parseDuration('10x')).toBeUndefined();
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('1m30')).toBeUndefined();
    expect(parseDuration('1m30s')).toBe(90_000);
  });

  it('property: a sum of unit parts parses to their total', () => {
    const unitMs = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(1000), fc.constantFrom<keyof typeof unitMs>('h', 'm', 's', 'ms')), { minLength: 1, maxLength: 5 }), (parts) => {
        const s = parts.map(([n, u]) => `${n}${u}`).join('');
        expect(parseDuration(s)).toBe(parts.reduce((t, [n, u]) => t + n * unitMs[u], 0));
      }),
    );
  });
});

describe('formatDuration', () => {
  it('writes the shortest form', () => {
    const cases: [number, string][] = [
      [0, '0ms'],
      [1, '1ms'],
      [500, '500ms'],
      [999, '999ms'],
      [1000, '1s'],
      [1500, '1500ms'],
      [10_000, '10s'],
      [60_000, '1m'],
      [90_000, '1m30s'],
      [3_600_000, '1h'],
      [3_661_000, '1h1m1s'],
      [3_601_000, '1h1s'],
      [7_200_000, '2h'],
      [7_260_000, '2h1m'],
      [90_000_000, '25h'],
    ];
    for (const [ms, s] of cases) expect(formatDuration(ms), String(ms)).toBe(s);
  });

  it('property: parseDuration reads back what formatDuration writes', () => {
    fc.assert(
      fc.property(fc.oneof(fc.nat(1_000_000_000), fc.nat(1_000_000).map((n) => n * 1000)), (ms) => {
        expect(parseDuration(formatDuration(ms))).toBe(ms);
      }),
      { numRuns: 1000 },
    );
  });
});
