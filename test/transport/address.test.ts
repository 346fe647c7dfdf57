import { describe, expect, it } from 'vitest';
import { addressKey, normalizeHost, parseHostPort } from '../../src/transport/address.js';
import { InvalidAddressError } from '../../src/errors.js';

describe('parseHostPort', () => {
  it.each([
    ['127.0.0.1:7946', { host: '127.0.0.1', port: 7946 }],
    ['node-1.example:80', { host: 'node-1.example', port: 80 }],
    ['[::1]:7946', { host: '::1', port: 7946 }],
    ['[fe80::1]:0', { host: 'fe80::1', port: 0 }],
    [' 10.0.0.5:1 ', { host: '10.0.0.5', port: 1 }],
  ])('parses %s', (input, expected) => {
    expect(parseHostPort(input)).toEqual(expected);
  });

  it('takes the default port when none is written', () => {
    expect(parseHostPort('10.0.0.5', 7946)).toEqual({ host: '10.0.0.5', port: 7946 });
    expect(parseHostPort('[::1]', 7946)).toEqual({ host: '::1', port: 7946 });
  });

  it.each([
    ['', 'empty'],
    ['::1:7946', 'brackets'],
    ['[::1:7946', '"]"'],
    ['[nope]:1', 'not an IPv6'],
    ['host:port', 'not a number'],
    ['host:70000', 'outside'],
    [':7946', 'host is empty'],
    ['host', 'port is missing'],
  ])('rejects %j saying what is wrong', (input, words) => {
    let caught: unknown;
    try {
      parseHostPort(input);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidAddressError);
    expect((caught as InvalidAddressError).code).toBe('HEARSAY_ERR_INVALID_ADDRESS');
    expect((caught as Error).message).toContain(words);
  });

  it('keys IPv6 addresses with brackets and strips the IPv4-mapped prefix', () => {
    expect(addressKey({ host: '::1', port: 5 })).toBe('[::1]:5');
    expect(addressKey({ host: 'Node.Example', port: 5 })).toBe('node.example:5');
    expect(normalizeHost('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(normalizeHost('::1')).toBe('::1');
  });
});
