/**
 * The registration rules (src/registry/validate.ts), rule by rule, each with its message: what a
 * user sees when a registration is refused, and what the payload decoder applies to peers.
 * Limits are written as the documented numbers, not read from REGISTRY_LIMITS.
 */
import fc from 'fast-check';
import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { addressProblem, idProblem, isHealthStatus, metaProblems, nameProblem, portProblem, tagsProblems, utf8Length } from '../../src/registry/validate.js';

const nameMessage = (shown: string): string =>
  `service name ${shown} is not a DNS label: use 1-63 lowercase letters, digits and inner hyphens, e.g. "billing-api"`;
const idMessage = (shown: string): string => `instance id ${shown} must be 1-128 characters of letters, digits and . _ : ~ -`;
const addressMessage = (shown: string): string =>
  `address ${shown} must be an IPv4 address, an IPv6 address without a zone, or a host name such as "billing-1.internal"`;
const portMessage = (shown: string): string => `port ${shown} must be an integer in 1-65535`;
const tagMessage = (shown: string): string => `tag ${shown} must be a string of 1-255 bytes of valid Unicode without spaces`;
const metaKeyMessage = (shown: string): string => `meta key ${shown} must be 1-128 letters, digits, _ or -`;
const metaValueMessage = (key: string): string =>
  `meta value of ${key} must be a string of at most 512 bytes of valid Unicode without control characters`;

/** Four labels of 63, 63, 63 and `last` letters: 192 + `last` characters. */
const longHost = (last: number): string => [63, 63, 63, last].map((n) => 'a'.repeat(n)).join('.');

describe('utf8Length', () => {
  it.each([
    ['', 0],
    ['abc', 3],
    ['é', 2],
    ['€', 3],
    ['🚀', 4],
    ['a€🚀', 8],
    ['\uD800', 3], // a lone surrogate is written as U+FFFD
    ['x'.repeat(1000), 1000],
  ])('counts %j as %i bytes', (s, n) => {
    expect(utf8Length(s)).toBe(n);
  });
});

describe('nameProblem', () => {
  it.each(['a', '0', 'web', 'billing-api', 'a1-b2', 'a--b', 'a'.repeat(63)])('accepts the DNS label %j', (name) => {
    expect(nameProblem(name)).toBeUndefined();
  });

  it.each([
    ['', '""'],
    ['Web', '"Web"'],
    ['billing_api', '"billing_api"'],
    ['-web', '"-web"'],
    ['web-', '"web-"'],
    ['web.api', '"web.api"'],
    ['wéb', '"wéb"'],
    ['web api', '"web api"'],
    ['a'.repeat(64), `"${'a'.repeat(64)}"`],
    [42, '42'],
    [undefined, 'undefined'],
    [null, 'null'],
    [10n, '10n'],
  ])('refuses %s, quoting it', (name, shown) => {
    expect(nameProblem(name)).toBe(nameMessage(shown));
  });
});

describe('idProblem', () => {
  it.each(['a', 'web-1', 'A.b_c:d~e-f', 'i'.repeat(128), '0'])('accepts %j', (id) => {
    expect(idProblem(id)).toBeUndefined();
  });

  it.each([
    ['', '""'],
    ['has space', '"has space"'],
    ['a/b', '"a/b"'],
    ['ü', '"ü"'],
    ['i'.repeat(129), `"${'i'.repeat(129)}"`],
    [7, '7'],
    [undefined, 'undefined'],
    [10n, '10n'],
  ])('refuses %s, quoting it', (id, shown) => {
    expect(idProblem(id)).toBe(idMessage(shown));
  });
});

describe('addressProblem', () => {
  it.each([
    // IPv4
    '10.0.0.5',
    '223.255.255.254',
    '240.0.0.1',
    '127.0.0.1',
    // IPv6, no zone
    '::1',
    'fd00::5',
    'FD00::A',
    '1:2:3:4:5:6:7:8',
    '1::8',
    '::ffff:1.2.3.4',
    '1:2:3:4:5:6:1.2.3.4',
    // host names
    'localhost',
    'billing-1.internal',
    'A.B',
    'xn--bcher-kva.example',
    'a'.repeat(63),
    longHost(61), // 253 characters in all
  ])('accepts %j', (address) => {
    expect(addressProblem(address)).toBeUndefined();
  });

  it.each([
    // IPv4 out of range or with leading zeros
    '256.0.0.1',
    '1.2.3.256',
    '01.2.3.4',
    '1.2.3.04',
    // IPv6: zones, brackets, ports, bad groups
    'fe80::1%eth0',
    '[::1]',
    '1.2.3.4:80',
    '1::2::3',
    ':::',
    ':1',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1::2:3:4:5:6:7:8',
    '12345::',
    'g::1',
    '::1.2.3',
    '::ffff:256.1.1.1',
    '1:2:3:4:5:6:7:1.2.3.4',
    // host names
    '',
    'a b',
    '-x.y',
    'x-.y',
    'a..b',
    'a.',
    '.a',
    'h_1',
    'bücher.example',
    'a'.repeat(64),
    longHost(62), // 254 characters
    'tab\there',
  ])('refuses %j', (address) => {
    expect(addressProblem(address)).toBe(addressMessage(JSON.stringify(address)));
  });

  it.each([
    [7, '7'],
    [undefined, 'undefined'],
    [null, 'null'],
    [10n, '10n'],
  ])('refuses the non-string %s, showing it', (address, shown) => {
    expect(addressProblem(address)).toBe(addressMessage(shown));
  });

  it('reads an IP literal exactly as node:net does (zones aside)', () => {
    const hex = fc.stringMatching(/^[0-9a-fA-F]{1,5}$/);
    const ipLike = fc.oneof(
      fc.ipV4(),
      fc.ipV4Extended(),
      fc.ipV6(),
      fc.array(fc.oneof(hex, fc.constant(''), fc.ipV4()), { minLength: 1, maxLength: 10 }).map((parts) => parts.join(':')),
      fc.array(fc.integer({ min: 0, max: 300 }).map(String), { minLength: 4, maxLength: 4 }).map((parts) => parts.join('.')),
    );
    fc.assert(
      fc.property(ipLike, (s) => {
        // Syntax as node:net reads it; a valid literal may still be refused for what it means.
        const problem = addressProblem(s);
        const wellFormed = problem === undefined || /is unspecified|is the broadcast|is a multicast/.test(problem);
        if (s.includes(':')) expect(wellFormed, s).toBe(isIP(s) === 6);
        else if (/^\d{1,3}(\.\d{1,3}){3}$/.test(s)) expect(wellFormed, s).toBe(isIP(s) === 4);
      }),
      { numRuns: 5000 },
    );
  });

  it.each([
    ['0.0.0.0', 'is unspecified'],
    ['::', 'is unspecified'],
    ['0:0::0', 'is unspecified'],
    ['255.255.255.255', 'is the broadcast address'],
    ['224.0.0.1', 'is a multicast address'],
    ['239.255.255.250', 'is a multicast address'],
    ['ff02::1', 'is a multicast address'],
    ['FF05::1:3', 'is a multicast address'],
  ])('refuses %j, which no client can connect to: it %s', (address, words) => {
    expect(addressProblem(address)).toContain(words);
  });
});

describe('portProblem', () => {
  it.each([1, 80, 65_535])('accepts %i', (port) => {
    expect(portProblem(port)).toBeUndefined();
  });

  it.each([
    [0, '0'],
    [-1, '-1'],
    [65_536, '65536'],
    [1.5, '1.5'],
    ['80', '"80"'],
    [undefined, 'undefined'],
    [null, 'null'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    [8080n, '8080n'],
  ])('refuses %s, showing it', (port, shown) => {
    expect(portProblem(port)).toBe(portMessage(shown));
  });
});

describe('tagsProblems', () => {
  it('accepts none, unicode tags, and tags at 255 bytes', () => {
    expect(tagsProblems([])).toEqual([]);
    expect(tagsProblems(['v2', 'primary', 'zone=eu', '日本語', 'emoji-🚀', 'a'.repeat(255), `${'é'.repeat(127)}a`])).toEqual([]);
  });

  it.each([['v2'], [{ 0: 'v2' }], [null], [undefined], [new Set(['v2'])]])('refuses %j, which is not an array, with one problem', (tags) => {
    expect(tagsProblems(tags)).toEqual(['tags must be an array of strings, e.g. ["v2", "primary"]']);
  });

  it.each([
    ['', '""'],
    ['a b', '"a b"'],
    ['tab\t', '"tab\\t"'],
    ['line\n', '"line\\n"'],
    ['nul\u0000', '"nul\\u0000"'],
    ['del\u007f', '"del\u007f"'],
    ['a'.repeat(256), `"${'a'.repeat(256)}"`],
    [`${'é'.repeat(128)}`, `"${'é'.repeat(128)}"`], // 256 bytes
    ['\uD800', '"\\ud800"'],
    ['x\uDFFFy', '"x\\udfffy"'],
    [7, '7'],
    [null, 'null'],
    [10n, '10n'],
  ])('refuses the tag %s, quoting it', (tag, shown) => {
    expect(tagsProblems(['ok', tag])).toEqual([tagMessage(shown)]);
  });

  it('accepts a proper surrogate pair', () => {
    expect(tagsProblems(['\uD83D\uDE80'])).toEqual([]);
  });

  it('refuses repeated tags once, and reports every bad tag', () => {
    expect(tagsProblems(['a', 'b', 'a', 'a'])).toEqual(['tags must not repeat']);
    expect(tagsProblems(['', 'a b', 'a b'])).toEqual([tagMessage('""'), tagMessage('"a b"'), tagMessage('"a b"'), 'tags must not repeat']);
  });

  it('refuses more than 64 tags, and still checks each', () => {
    const many = Array.from({ length: 64 }, (_, i) => `t${i}`);
    expect(tagsProblems(many)).toEqual([]);
    expect(tagsProblems([...many, 't64'])).toEqual(['65 tags: give at most 64']);
    expect(tagsProblems([...many, ''])).toEqual(['65 tags: give at most 64', tagMessage('""')]);
  });
});

describe('metaProblems', () => {
  it('accepts none, unicode values, spaces in values, empty values, and the limits exactly', () => {
    expect(metaProblems({})).toEqual([]);
    expect(
      metaProblems({ version: '1.4.2', greeting: 'héllo wörld 👋', empty: '', Under_score: 'x', 'dash-1': 'y', ['k'.repeat(128)]: `${'€'.repeat(170)}vv` }),
    ).toEqual([]);
  });

  it('accepts "__proto__" and "constructor" as own keys of a parsed object', () => {
    expect(metaProblems(JSON.parse('{"__proto__": "a", "constructor": "b"}'))).toEqual([]);
  });

  it.each([[null], [[]], [['a', 'b']], ['k=v'], [1], [undefined]])('refuses %j, which is not an object, with one problem', (meta) => {
    expect(metaProblems(meta)).toEqual(['meta must be an object of string values, e.g. {"version": "1.4.2"}']);
  });

  it.each([
    ['', '""'],
    ['a b', '"a b"'],
    ['a.b', '"a.b"'],
    ['ü', '"ü"'],
    ['k'.repeat(129), `"${'k'.repeat(129)}"`],
  ])('refuses the key %j, quoting it', (key, shown) => {
    expect(metaProblems({ ok: 'v', [key]: 'v' })).toEqual([metaKeyMessage(shown)]);
  });

  it.each([
    ['a tab', 'a\tb'],
    ['a newline', 'a\nb'],
    ['a NUL', 'a\u0000b'],
    ['DEL', 'a\u007fb'],
    ['a lone surrogate', 'a\uD800'],
    ['513 bytes', 'v'.repeat(513)],
    ['513 bytes of three-byte characters', `${'€'.repeat(171)}`],
    ['a number', 1],
    ['null', null],
    ['an array', ['v']],
  ])('refuses a value with %s, naming its key', (_what, value) => {
    expect(metaProblems({ ok: 'v', k: value })).toEqual([metaValueMessage('"k"')]);
  });

  it('reports a bad key and a bad value of one entry both', () => {
    expect(metaProblems({ 'bad key': 1 })).toEqual([metaKeyMessage('"bad key"'), metaValueMessage('"bad key"')]);
  });

  it('refuses more than 64 keys, and still checks each', () => {
    const many = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, 'v']));
    expect(metaProblems(many)).toEqual([]);
    expect(metaProblems({ ...many, k64: 'v' })).toEqual(['65 meta keys: give at most 64']);
    expect(metaProblems({ ...many, 'k 64': 'v' })).toEqual(['65 meta keys: give at most 64', metaKeyMessage('"k 64"')]);
  });
});

describe('isHealthStatus', () => {
  it('knows the four statuses and nothing else', () => {
    for (const s of ['passing', 'warning', 'critical', 'maintenance']) expect(isHealthStatus(s), s).toBe(true);
    for (const s of ['any', 'Passing', '', 'ok', 1, null, undefined, ['passing']]) expect(isHealthStatus(s), String(s)).toBe(false);
  });
});
