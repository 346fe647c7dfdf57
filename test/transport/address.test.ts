import { describe, expect, it } from 'vitest';
import { addressKey, formatHostPort, isLoopbackHost, isUnspecifiedHost, normalizeHost, parseHostPort } from '../../src/transport/address.js';

describe('parseHostPort and its neighbours', () => {
  it('parses host names, IPv4 and bracketed IPv6 with ports', () => {
    const table: [string, string, number][] = [
      ['127.0.0.1:7946', '127.0.0.1', 7946],
      ['[::1]:8000', '::1', 8000],
      ['[fe80::1%eth0]:1', 'fe80::1%eth0', 1],
      ['seed-1.example.com:65535', 'seed-1.example.com', 65535],
      ['  localhost:7  ', 'localhost', 7],
    ];
    for (const [text, host, port] of table) expect(parseHostPort(text), text).toEqual({ ok: true, address: { host, port } });
  });

  it('takes the default port for a bare host and accepts port 0 only for listeners', () => {
    expect(parseHostPort('10.0.0.2', { defaultPort: 7946 })).toEqual({ ok: true, address: { host: '10.0.0.2', port: 7946 } });
    expect(parseHostPort('[::1]', { defaultPort: 7947 })).toEqual({ ok: true, address: { host: '::1', port: 7947 } });
    expect(parseHostPort('127.0.0.1:0', { allowPortZero: true })).toEqual({ ok: true, address: { host: '127.0.0.1', port: 0 } });
    expect(parseHostPort('127.0.0.1:0')).toMatchObject({ ok: false, problem: expect.stringMatching(/only makes sense for a listener/) });
  });

  it('says what is wrong with a bad address and how to write it', () => {
    const table: [string, RegExp][] = [
      ['', /is empty: give HOST:PORT/],
      ['10.0.0.1', /has no port: give HOST:PORT, e\.g\. 127\.0\.0\.1:7946/],
      ['::1:7946', /IPv6 address without brackets: write \[ADDRESS\]:PORT/],
      ['[::1:7946', /"\[" without "\]"/],
      ['[::1]7946', /has "7946" after "\]"/],
      ['[nope]:1', /"nope" in brackets, which is not an IPv6 address/],
      [':7946', /has no host: give one, e\.g\. 0\.0\.0\.0:7946/],
      ['host:http', /port "http", which is not a number/],
      ['host:70000', /port 70000, outside 1-65535/],
      ['300.1.1.1:1', /not a valid IPv4 address/],
      ['bad_host!:1', /neither an IP address nor a host name/],
    ];
    for (const [text, problem] of table) {
      const parsed = parseHostPort(text);
      expect(parsed.ok, text).toBe(false);
      if (!parsed.ok) expect(parsed.problem, text).toMatch(problem);
    }
  });

  it('formats IPv6 hosts in brackets and knows loopback hosts', () => {
    expect(formatHostPort({ host: '::1', port: 1 })).toBe('[::1]:1');
    expect(formatHostPort({ host: '10.0.0.1', port: 2 })).toBe('10.0.0.1:2');
    expect(['127.0.0.1', '127.1.2.3', '::1', 'localhost', '::ffff:127.0.0.1'].every(isLoopbackHost)).toBe(true);
    expect(['0.0.0.0', '10.0.0.1', '::', 'example.com'].some(isLoopbackHost)).toBe(false);
  });

  it('never throws, whatever the text', () => {
    for (const text of ['', ':', '[', ']', '[]', '[::1]:', ':::', 'a:b:c', '\u0000', 'x'.repeat(10_000), '[::1]:99999999999']) {
      const parsed = parseHostPort(text);
      expect(parsed.ok, text).toBe(false);
    }
  });

  it('knows every spelling of loopback and of the unspecified address', () => {
    expect(['0:0:0:0:0:0:0:1', '::ffff:7f00:1', 'LOCALHOST', '127.255.255.254'].every(isLoopbackHost)).toBe(true);
    expect(['::ffff:7f:1', '::2', '128.0.0.1', 'localhost.evil.example'].some(isLoopbackHost)).toBe(false);
    expect(['0.0.0.0', '::', '0:0::0', ''].every(isUnspecifiedHost)).toBe(true);
    expect(['127.0.0.1', '::1', '10.0.0.1'].some(isUnspecifiedHost)).toBe(false);
  });

  it('keys IPv6 addresses with brackets and strips the IPv4-mapped prefix', () => {
    expect(addressKey({ host: '::1', port: 5 })).toBe('[::1]:5');
    expect(addressKey({ host: 'Node.Example', port: 5 })).toBe('node.example:5');
    expect(normalizeHost('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(normalizeHost('::1')).toBe('::1');
  });
});
