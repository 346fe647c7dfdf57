import { describe, expect, it } from 'vitest';
import { nodeUri, parseSpiffeUris, patternMatches, servicePatternProblem, servicesAllow, serviceUri, trustDomainProblem } from '../../src/identity/spiffe.js';

describe('service patterns', () => {
  it.each([
    ['billing', 'billing', true],
    ['billing', 'billing-v2', false],
    ['api-*', 'api-gateway', true],
    ['api-*', 'api-', true],
    ['api-*', 'api', false],
    ['api-*', 'web-api-x', false],
    ['*', 'anything', true],
    ['*-db', 'orders-db', true],
    ['*-db', 'orders-db2', false],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'axxbyyc', true],
    ['a*b*c', 'axxcyyb', false],
    ['ab*ba', 'aba', false],
  ])('%s matches %s: %s', (pattern, name, expected) => {
    expect(patternMatches(pattern, name)).toBe(expected);
  });

  it('any of a list allows', () => {
    expect(servicesAllow(['billing', 'api-*'], 'api-x')).toBe(true);
    expect(servicesAllow(['billing', 'api-*'], 'web')).toBe(false);
    expect(servicesAllow([], 'web')).toBe(false);
  });

  it('checks patterns and trust domains', () => {
    expect(servicePatternProblem('api-*')).toBeUndefined();
    expect(servicePatternProblem('API')).toMatch(/lowercase/);
    expect(servicePatternProblem('a/b')).toMatch(/service pattern/);
    expect(trustDomainProblem('prod.example')).toBeUndefined();
    expect(trustDomainProblem('Prod Example')).toMatch(/lowercase/);
  });
});

describe('spiffe URIs', () => {
  it('round-trips node and service URIs', () => {
    const uris = [nodeUri('td.example', 'web 1/ü'), serviceUri('td.example', 'api-*'), 'https://not.ours/x', 'spiffe://td.example/other/x'];
    expect(uris[0]).toBe('spiffe://td.example/node/web%201%2F%C3%BC');
    const c = parseSpiffeUris(uris);
    expect(c.nodes).toEqual(['web 1/ü']);
    expect(c.services).toEqual(['api-*']);
    expect(c.trustDomains).toEqual(['td.example']);
    expect(c.unknown).toEqual(['spiffe://td.example/other/x']);
  });

  it('sets aside what it cannot read', () => {
    const c = parseSpiffeUris(['spiffe://td/node/%E0%A4%A', 'spiffe://td/service/Bad', 'spiffe://BAD/node/x']);
    expect(c.nodes).toEqual([]);
    expect(c.services).toEqual([]);
    expect(c.unknown).toHaveLength(3);
  });
});
