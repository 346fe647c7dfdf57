import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidServiceError, UnknownServiceError } from '../../src/errors.js';
import {
  CHECK_DEFAULTS,
  LocalRegistry,
  MAX_CHECK_OUTPUT,
  normalizeService,
  type CheckSpec,
  type CheckStatus,
  type ServiceDefinition,
} from '../../src/registry/local.js';
import type { LocalInstanceRecord } from '../../src/registry/types.js';
import { REGISTRY_LIMITS } from '../../src/registry/validate.js';

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

const fresh = (): string => 'fresh-id';

function problemsOf(def: unknown): string[] {
  const r = normalizeService(def, fresh);
  if (r.ok) throw new Error('expected problems, got a valid definition');
  return r.problems;
}

function normalized(def: unknown): { record: LocalInstanceRecord; checks: CheckSpec[]; definition: ServiceDefinition } {
  const r = normalizeService(def, fresh);
  if (!r.ok) throw new Error(`expected a valid definition, got:\n${r.problems.join('\n')}`);
  return r;
}

function checkOf(check: Record<string, unknown>): CheckSpec {
  return normalized({ id: 'web-1', name: 'web', port: 80, checks: [check] }).checks[0]!;
}

function checkProblems(check: unknown): string[] {
  return problemsOf({ id: 'web-1', name: 'web', port: 80, checks: [check] });
}

const anyFits = (): void => {};

function registry(): LocalRegistry {
  return new LocalRegistry();
}

function reg(r: LocalRegistry, def: ServiceDefinition, now = 0): void {
  r.register(def, fresh, now, anyFits);
}

function statusOf(r: LocalRegistry, id: string): string | undefined {
  return r.service(id)?.record.status;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

// ---------------------------------------------------------------------------------------------
// normalizeService
// ---------------------------------------------------------------------------------------------

describe('normalizeService', () => {
  it('fills defaults: a fresh id, the advertise address, no tags, meta or checks, passing', () => {
    const n = normalized({ name: 'web', port: 8080 });
    expect(n.record).toEqual({ id: 'fresh-id', name: 'web', address: '', port: 8080, tags: [], meta: {}, status: 'passing' });
    expect(n.checks).toEqual([]);
    expect(n.definition.id).toBe('fresh-id');
    expect(Object.isFrozen(n.record)).toBe(true);
    expect(Object.isFrozen(n.record.tags)).toBe(true);
    expect(Object.isFrozen(n.record.meta)).toBe(true);
  });

  it('keeps the given fields, copying tags and meta', () => {
    const tags = ['v2'];
    const meta = { version: '1' };
    const n = normalized({ id: 'web-1', name: 'web', port: 80, address: '10.0.0.5', tags, meta });
    expect(n.record).toEqual({ id: 'web-1', name: 'web', address: '10.0.0.5', port: 80, tags: ['v2'], meta: { version: '1' }, status: 'passing' });
    tags.push('mutated');
    meta.version = '2';
    expect(n.record.tags).toEqual(['v2']);
    expect(n.record.meta).toEqual({ version: '1' });
  });

  it('a "__proto__" meta key from JSON stays an own data property', () => {
    const def = JSON.parse('{"name": "web", "port": 80, "meta": {"__proto__": "x", "constructor": "y"}}') as unknown;
    const { record } = normalized(def);
    expect(Object.hasOwn(record.meta, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(record.meta, '__proto__')?.value).toBe('x');
    expect(Object.getPrototypeOf(record.meta)).toBe(Object.prototype);
    expect(record.meta.constructor).toBe('y');
  });

  it('calls freshId only when no id is given', () => {
    let calls = 0;
    const counting = (): string => `gen-${++calls}`;
    expect(normalizeService({ id: 'mine', name: 'web', port: 1 }, counting).ok).toBe(true);
    expect(calls).toBe(0);
    const r = normalizeService({ name: 'web', port: 1 }, counting);
    expect(r.ok && r.record.id).toBe('gen-1');
  });

  it('refuses what is not an object', () => {
    for (const bad of [null, undefined, 'web', 42, ['web']]) expect(problemsOf(bad)).toHaveLength(1);
  });

  it('lists every problem at once', () => {
    const problems = problemsOf({ id: 'has space', name: 'Billing_API', port: 0, address: 'a b', tags: ['ok', 'ok', ''], meta: { 'bad key': 'v', k: 1 }, colour: 'red', weight: 3 });
    const expected = [/unknown field "colour"/, /unknown field "weight"/, /instance id "has space"/, /service name "Billing_API" is not a DNS label/, /port 0/, /address "a b"/, /tag ""/, /tags must not repeat/, /meta key "bad key"/, /meta value of "k"/];
    for (const re of expected) expect(problems.some((p) => re.test(p)), `${re} in\n${problems.join('\n')}`).toBe(true);
    expect(problems).toHaveLength(expected.length);
  });

  it('refuses service names that are not DNS labels, and accepts those that are', () => {
    for (const name of ['Billing_API', 'billing_api', 'Web', '', '-web', 'web-', 'a'.repeat(64), 'web.api', 'wéb', 42, undefined]) {
      expect(problemsOf({ name, port: 80 }).some((p) => /service name .* is not a DNS label/.test(p)), String(name)).toBe(true);
    }
    for (const name of ['web', 'billing-api', 'a', '0', 'a1-b2', 'a'.repeat(63)]) expect(normalized({ name, port: 80 }).record.name).toBe(name);
  });

  it('refuses ports outside 1-65535 and non-integers', () => {
    for (const port of [0, -1, 65_536, 1.5, '80', Number.NaN, undefined]) {
      expect(problemsOf({ name: 'web', port }).some((p) => p.startsWith('port ')), String(port)).toBe(true);
    }
    expect(normalized({ name: 'web', port: 65_535 }).record.port).toBe(65_535);
    expect(normalized({ name: 'web', port: 1 }).record.port).toBe(1);
  });

  it('refuses an empty address (leave it out instead) and anything not an IP or a host name', () => {
    expect(problemsOf({ name: 'web', port: 80, address: '' })[0]).toMatch(/must not be empty/);
    for (const bad of ['a b', 'x'.repeat(64), `${'a'.repeat(63)}.`.repeat(4) + 'a', 'fe80::1%eth0', 'a..b', '-x.y', 'bücher.example', '256.1.1.1', '1::2::3', 'h_1', 7]) {
      expect(problemsOf({ name: 'web', port: 80, address: bad })[0], String(bad)).toMatch(/address .* must be an IPv4 address, an IPv6 address without a zone, or a host name/);
    }
    const longest = [63, 63, 63, 61].map((n) => 'a'.repeat(n)).join('.');
    expect(longest).toHaveLength(253);
    for (const good of [longest, '10.0.0.5', '::1', 'fd00::5', '::ffff:1.2.3.4', 'billing-1.internal', 'localhost']) {
      expect(normalized({ name: 'web', port: 80, address: good }).record.address).toBe(good);
    }
  });

  it('refuses bad tags and meta', () => {
    expect(problemsOf({ name: 'web', port: 80, tags: 'v2' })[0]).toMatch(/tags must be an array/);
    expect(problemsOf({ name: 'web', port: 80, tags: Array.from({ length: 65 }, (_, i) => `t${i}`) })[0]).toMatch(/65 tags/);
    expect(problemsOf({ name: 'web', port: 80, meta: ['a'] })[0]).toMatch(/meta must be an object/);
    expect(problemsOf({ name: 'web', port: 80, meta: { k: 'a\u0000b' } })[0]).toMatch(/meta value/);
  });

  it('refuses unpaired surrogates in tags and meta values (UTF-8 cannot carry them), and in addresses', () => {
    // JSON can carry them: this is what an HTTP registration with "\ud800" escapes parses to.
    const def = JSON.parse('{"name": "web", "port": 80, "tags": ["\\ud800", "\\udc00", "ok-\\ud83d\\ude80"], "meta": {"k": "x\\udfff"}, "address": "h\\ud800"}') as Record<string, unknown>;
    expect((def.tags as string[])[0]).toBe('\uD800');
    const problems = problemsOf(def);
    expect(problems.filter((p) => p.startsWith('tag '))).toHaveLength(2);
    expect(problems.some((p) => p.startsWith('meta value of "k"'))).toBe(true);
    expect(problems.some((p) => p.startsWith('address '))).toBe(true);
    expect(problems).toHaveLength(4);
    // A proper pair (an emoji) is fine.
    expect(normalized({ name: 'web', port: 80, tags: ['ok-\u{1F680}'], meta: { k: '\u{1F680}' } }).record.tags).toEqual(['ok-🚀']);
  });

  it('refuses checks that are not an array, or too many', () => {
    expect(problemsOf({ name: 'web', port: 80, checks: { ttl: '10s' } })[0]).toMatch(/checks must be an array/);
    expect(problemsOf({ name: 'web', port: 80, checks: Array.from({ length: 17 }, () => ({ ttl: '10s' })) })[0]).toMatch(/17 checks/);
    expect(normalized({ name: 'web', port: 80, checks: Array.from({ length: 16 }, () => ({ ttl: '10s' })) }).checks).toHaveLength(16);
    expect(checkProblems('ttl')[0]).toMatch(/checks\[0\] must be an object/);
  });

  it('a check has exactly one kind', () => {
    expect(checkProblems({ ttl: '10s', http: 'http://127.0.0.1/' })[0]).toMatch(/exactly one of ttl, http, tcp or command \(it has ttl, http\)/);
    expect(checkProblems({ interval: '10s' })[0]).toMatch(/\(it has none\)/);
    expect(checkProblems({ tcp: 'a:1', command: 'true', http: 'http://x/' })[0]).toMatch(/it has http, tcp, command/);
  });

  it('a ttl check takes no interval', () => {
    expect(checkProblems({ ttl: '30s', interval: '10s' })).toEqual([expect.stringMatching(/a ttl check has no interval/)]);
    const spec = checkOf({ ttl: '30s' });
    expect(spec).toMatchObject({ kind: 'ttl', ttlMs: 30_000, intervalMs: 0, timeoutMs: CHECK_DEFAULTS.timeoutMs });
  });

  it('parses durations and applies defaults', () => {
    expect(checkOf({ http: 'http://127.0.0.1:8080/health' })).toMatchObject({
      kind: 'http',
      target: 'http://127.0.0.1:8080/health',
      shell: false,
      intervalMs: 10_000,
      timeoutMs: 5000,
      deregisterCriticalAfterMs: undefined,
      initialStatus: 'critical',
      successBeforePassing: 1,
      failuresBeforeCritical: 1,
    });
    expect(checkOf({ tcp: '127.0.0.1:5432', interval: '1m30s', timeout: 250, deregisterCriticalAfter: '2h' })).toMatchObject({
      kind: 'tcp',
      target: '127.0.0.1:5432',
      intervalMs: 90_000,
      timeoutMs: 250,
      deregisterCriticalAfterMs: 7_200_000,
    });
    expect(checkOf({ ttl: 7 * 86_400_000 }).ttlMs).toBe(7 * 86_400_000);
    expect(checkOf({ ttl: '168h' }).ttlMs).toBe(7 * 86_400_000);
  });

  it('refuses bad durations, naming the field', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ ttl: '10x' }, 'ttl'],
      [{ ttl: 99 }, 'ttl'],
      [{ ttl: '' }, 'ttl'],
      [{ ttl: -1 }, 'ttl'],
      [{ ttl: 7 * 86_400_000 + 1 }, 'ttl'],
      [{ http: 'http://x/', interval: '-1s' }, 'interval'],
      [{ http: 'http://x/', interval: '99ms' }, 'interval'],
      [{ http: 'http://x/', interval: true }, 'interval'],
      [{ http: 'http://x/', timeout: '9ms' }, 'timeout'],
      [{ http: 'http://x/', timeout: '8d' }, 'timeout'],
      [{ http: 'http://x/', deregisterCriticalAfter: 0 }, 'deregisterCriticalAfter'],
      [{ http: 'http://x/', deregisterCriticalAfter: '169h' }, 'deregisterCriticalAfter'],
    ];
    for (const [check, field] of cases) {
      const problems = checkProblems(check);
      expect(problems, JSON.stringify(check)).toHaveLength(1);
      expect(problems[0]).toContain(`checks[0]: ${field} `);
      expect(problems[0]).toMatch(/must be a duration/);
    }
  });

  it('refuses http checks that are not http(s) URLs', () => {
    for (const http of ['ftp://example.com/', 'not a url', '127.0.0.1:8080/health', 42, `http://x/${'a'.repeat(2048)}`]) {
      expect(checkProblems({ http })[0], String(http)).toMatch(/must be an http:\/\/ or https:\/\/ URL/);
    }
    expect(checkOf({ http: 'https://example.com:8443/health?x=1' }).target).toBe('https://example.com:8443/health?x=1');
  });

  it('refuses tcp checks that are not HOST:PORT', () => {
    for (const tcp of ['127.0.0.1', 'host:0', 'host:65536', ':80', 'a b:80', 'host:port', '::1:80', 7]) {
      expect(checkProblems({ tcp })[0], String(tcp)).toMatch(/must be "HOST:PORT"/);
    }
    for (const tcp of ['127.0.0.1:5432', 'db.internal:1', '[::1]:65535', '[fe80::1]:22']) expect(checkOf({ tcp }).target).toBe(tcp);
  });

  it('takes a command as a shell line or an argv array', () => {
    expect(checkOf({ command: 'pg_isready -q' })).toMatchObject({ kind: 'command', target: ['pg_isready -q'], shell: true });
    expect(checkOf({ command: ['/usr/bin/pg_isready', '-q'] })).toMatchObject({ kind: 'command', target: ['/usr/bin/pg_isready', '-q'], shell: false });
    for (const command of ['', '   ', [], [''], [1], 5]) expect(checkProblems({ command })[0], JSON.stringify(command)).toMatch(/command must be/);
  });

  it('refuses a bad initial status, damping counts and unknown check fields', () => {
    expect(checkProblems({ ttl: '10s', status: 'ok' })[0]).toMatch(/status must be/);
    for (const v of [0, 101, 1.5, '2']) {
      expect(checkProblems({ ttl: '10s', successBeforePassing: v })[0]).toMatch(/successBeforePassing must be an integer in 1-100/);
      expect(checkProblems({ ttl: '10s', failuresBeforeCritical: v })[0]).toMatch(/failuresBeforeCritical must be an integer in 1-100/);
    }
    expect(checkProblems({ ttl: '10s', retries: 3 })[0]).toMatch(/checks\[0\]: unknown field "retries"/);
    expect(checkOf({ ttl: '10s', status: 'warning', successBeforePassing: 100, failuresBeforeCritical: 3 })).toMatchObject({
      initialStatus: 'warning',
      successBeforePassing: 100,
      failuresBeforeCritical: 3,
    });
  });

  it('numbers the default check ids service:<id>, service:<id>:2, ...', () => {
    const n = normalized({ id: 'web-1', name: 'web', port: 80, checks: [{ ttl: '10s' }, { tcp: 'h:1' }, { id: 'custom', ttl: '1s' }, { http: 'http://x/' }] });
    expect(n.checks.map((c) => c.id)).toEqual(['service:web-1', 'service:web-1:2', 'custom', 'service:web-1:4']);
    expect(n.checks.every((c) => c.serviceId === 'web-1')).toBe(true);
    const gen = normalized({ name: 'web', port: 80, checks: [{ ttl: '10s' }] });
    expect(gen.checks[0]!.id).toBe('service:fresh-id');
  });

  it('refuses repeated check ids and bad ones', () => {
    const problems = problemsOf({ id: 'web-1', name: 'web', port: 80, checks: [{ ttl: '10s' }, { id: 'service:web-1', ttl: '10s' }] });
    expect(problems).toEqual([expect.stringMatching(/checks\[1\]: id "service:web-1" repeats/)]);
    expect(checkProblems({ id: 'has space', ttl: '1s' })[0]).toMatch(/id "has space"/);
    expect(checkProblems({ id: '', ttl: '1s' })[0]).toMatch(/id ""/);
  });

  it('reports a value JSON cannot show (a bigint, NaN) as a problem rather than throwing', () => {
    expect(problemsOf({ name: 'web', port: 8080n })).toEqual(['port 8080n must be an integer in 1-65535']);
    expect(problemsOf({ name: 'web', port: Number.NaN })).toEqual(['port NaN must be an integer in 1-65535']);
    expect(problemsOf({ name: 10n, port: 1, tags: [1n] })).toEqual([expect.stringMatching(/^service name 10n is not a DNS label/), expect.stringMatching(/^tag 1n must be/)]);
    expect(checkProblems({ ttl: 10n })).toEqual([expect.stringMatching(/^checks\[0\]: ttl 10n must be a duration/)]);
    expect(checkProblems({ id: 5n, tcp: 5n })).toEqual([expect.stringMatching(/^checks\[0\]: id 5n must be/), expect.stringMatching(/^checks\[0\]: tcp 5n must be "HOST:PORT"/)]);
    expect(checkProblems({ http: 5n })).toEqual([expect.stringMatching(/^checks\[0\]: http 5n must be an http/)]);
  });

  it('collects problems from several checks and the service together', () => {
    const problems = problemsOf({ name: 'Bad', port: 80, checks: [{ ttl: 'x' }, { http: 'ftp://a' }, { tcp: 'nope' }] });
    expect(problems).toHaveLength(4);
    expect(problems.filter((p) => p.startsWith('checks[')).map((p) => p.slice(0, 9))).toEqual(['checks[0]', 'checks[1]', 'checks[2]']);
  });
});

// ---------------------------------------------------------------------------------------------
// LocalRegistry: registration
// ---------------------------------------------------------------------------------------------

describe('LocalRegistry registration', () => {
  it('registers, lists and deregisters instances', () => {
    const r = registry();
    const view = r.register({ id: 'web-1', name: 'web', port: 80 }, fresh, 0, anyFits);
    expect(view).toEqual({ record: { id: 'web-1', name: 'web', address: '', port: 80, tags: [], meta: {}, status: 'passing' }, checks: [], maintenance: undefined });
    reg(r, { id: 'db-1', name: 'db', port: 5432, checks: [{ ttl: '10s' }] });
    expect(r.size).toBe(2);
    expect(r.has('web-1')).toBe(true);
    expect(r.records().map((x) => x.id)).toEqual(['web-1', 'db-1']);
    expect(r.services().map((s) => s.record.id)).toEqual(['web-1', 'db-1']);
    expect(r.checks()).toEqual([{ id: 'service:db-1', serviceId: 'db-1', kind: 'ttl', status: 'critical', output: '' }]);
    expect(r.check('service:db-1')?.ttlMs).toBe(10_000);
    expect(r.deregister('db-1')).toBe(true);
    expect(r.deregister('db-1')).toBe(false);
    expect(r.has('db-1')).toBe(false);
    expect(r.service('db-1')).toBeUndefined();
    expect(r.checks()).toEqual([]);
    expect(r.check('service:db-1')).toBeUndefined();
    expect(() => r.reportCheck('service:db-1', 'passing', '', 1)).toThrow(UnknownServiceError);
    expect(r.records().map((x) => x.id)).toEqual(['web-1']);
  });

  it('throws InvalidServiceError listing every problem, and changes nothing', () => {
    const r = registry();
    const err = thrown(() => r.register({ name: 'Billing_API', port: 0 } as ServiceDefinition, fresh, 0, anyFits));
    expect(err).toBeInstanceOf(InvalidServiceError);
    expect((err as InvalidServiceError).problems).toHaveLength(2);
    expect((err as InvalidServiceError).code).toBe('HEARSAY_ERR_INVALID_SERVICE');
    expect(r.size).toBe(0);
  });

  it('replaces an instance registered again under the same id, in place, with fresh checks', () => {
    const r = registry();
    reg(r, { id: 'a', name: 'web', port: 80, checks: [{ id: 'old-check', ttl: '10s' }] });
    reg(r, { id: 'b', name: 'web', port: 81 });
    r.reportCheck('old-check', 'passing', 'ok', 1);
    expect(statusOf(r, 'a')).toBe('passing');
    reg(r, { id: 'a', name: 'web', port: 8080, tags: ['v2'], checks: [{ id: 'new-check', ttl: '10s' }] }, 2);
    expect(r.size).toBe(2);
    expect(r.records().map((x) => `${x.id}:${x.port}`)).toEqual(['a:8080', 'b:81']);
    expect(r.service('a')!.record.tags).toEqual(['v2']);
    expect(statusOf(r, 'a')).toBe('critical');
    expect(r.check('old-check')).toBeUndefined();
    expect(() => r.reportCheck('old-check', 'passing', '', 3)).toThrow(UnknownServiceError);
    expect(r.checks().map((c) => c.id)).toEqual(['new-check']);
  });

  it('a replacement may keep its own check ids; another instance may not take them', () => {
    const r = registry();
    reg(r, { id: 'a', name: 'web', port: 80, checks: [{ id: 'shared', ttl: '10s' }] });
    reg(r, { id: 'a', name: 'web', port: 81, checks: [{ id: 'shared', ttl: '20s' }] });
    expect(r.check('shared')?.ttlMs).toBe(20_000);
    const err = thrown(() => reg(r, { id: 'b', name: 'web', port: 82, checks: [{ id: 'shared', ttl: '10s' }] }));
    expect(err).toBeInstanceOf(InvalidServiceError);
    expect((err as InvalidServiceError).problems[0]).toMatch(/check id "shared" is already used by instance "a"/);
    expect(r.has('b')).toBe(false);
    expect(r.check('shared')?.serviceId).toBe('a');
    // Default ids are per instance, so they never collide.
    reg(r, { id: 'c', name: 'web', port: 83, checks: [{ ttl: '1s' }] });
    reg(r, { id: 'd', name: 'web', port: 84, checks: [{ ttl: '1s' }] });
    expect(r.checks().map((c) => c.id).sort()).toEqual(['service:c', 'service:d', 'shared']);
  });

  it('when fits throws, the registry is unchanged (new instance or replacement)', () => {
    const r = registry();
    reg(r, { id: 'a', name: 'web', port: 80, checks: [{ id: 'ca', ttl: '10s' }] });
    r.reportCheck('ca', 'passing', 'fine', 1);
    const before = r.records();
    const seen: string[][] = [];
    const tooBig = (records: readonly LocalInstanceRecord[]): void => {
      seen.push(records.map((x) => `${x.id}:${x.port}`));
      throw new Error('too large');
    };
    expect(() => r.register({ id: 'b', name: 'db', port: 1, checks: [{ id: 'cb', ttl: '1s' }] }, fresh, 2, tooBig)).toThrow('too large');
    expect(() => r.register({ id: 'a', name: 'web', port: 9, checks: [{ id: 'ca2', ttl: '1s' }] }, fresh, 3, tooBig)).toThrow('too large');
    // fits saw the records as they would have been.
    expect(seen).toEqual([['a:80', 'b:1'], ['a:9']]);
    expect(r.records()).toBe(before);
    expect(r.size).toBe(1);
    expect(r.service('a')!.record).toMatchObject({ port: 80, status: 'passing' });
    expect(r.check('cb')).toBeUndefined();
    expect(r.check('ca2')).toBeUndefined();
    expect(r.checks()).toEqual([{ id: 'ca', serviceId: 'a', kind: 'ttl', status: 'passing', output: 'fine' }]);
    expect(r.reportCheck('ca', 'critical', 'down', 4)).toBe(true);
  });

  it('holds at most maxInstancesPerNode instances, and still replaces at the limit', () => {
    const r = registry();
    for (let i = 0; i < REGISTRY_LIMITS.maxInstancesPerNode; i++) reg(r, { id: `i${i}`, name: 'web', port: 1 + i });
    expect(() => reg(r, { id: 'one-more', name: 'web', port: 1 })).toThrow(InvalidServiceError);
    reg(r, { id: 'i0', name: 'web', port: 999 });
    expect(r.size).toBe(REGISTRY_LIMITS.maxInstancesPerNode);
    expect(r.service('i0')!.record.port).toBe(999);
  });

  it('records() is frozen and stays the same array until something changes', () => {
    const r = registry();
    reg(r, { id: 'a', name: 'web', port: 80, checks: [{ id: 'c', ttl: '1s' }] });
    const first = r.records();
    expect(Object.isFrozen(first)).toBe(true);
    expect(r.records()).toBe(first);
    expect(r.reportCheck('c', 'critical', 'still', 1)).toBe(false);
    expect(r.records()).toBe(first);
    r.reportCheck('c', 'passing', '', 2);
    expect(r.records()).not.toBe(first);
    expect(r.records()[0]!.status).toBe('passing');
    expect(first[0]!.status).toBe('critical');
  });
});

// ---------------------------------------------------------------------------------------------
// LocalRegistry: statuses
// ---------------------------------------------------------------------------------------------

describe('LocalRegistry check-driven status', () => {
  it('an instance without checks is passing; with checks it is critical until the first pass', () => {
    const r = registry();
    reg(r, { id: 'plain', name: 'web', port: 80 });
    reg(r, { id: 'checked', name: 'web', port: 81, checks: [{ http: 'http://127.0.0.1:81/' }] });
    expect(statusOf(r, 'plain')).toBe('passing');
    expect(statusOf(r, 'checked')).toBe('critical');
    expect(r.reportCheck('service:checked', 'passing', 'HTTP 200', 5)).toBe(true);
    expect(statusOf(r, 'checked')).toBe('passing');
    expect(r.checks().find((c) => c.id === 'service:checked')).toMatchObject({ status: 'passing', output: 'HTTP 200' });
  });

  it('a check\'s status field sets the status before the first result', () => {
    const r = registry();
    reg(r, { id: 'p', name: 'web', port: 80, checks: [{ ttl: '10s', status: 'passing' }] });
    reg(r, { id: 'w', name: 'web', port: 81, checks: [{ ttl: '10s', status: 'warning' }] });
    expect(statusOf(r, 'p')).toBe('passing');
    expect(statusOf(r, 'w')).toBe('warning');
  });

  it('the instance takes the worst of its checks', () => {
    const r = registry();
    reg(r, { id: 'a', name: 'web', port: 80, checks: [{ id: 'c1', ttl: '10s' }, { id: 'c2', ttl: '10s' }, { id: 'c3', ttl: '10s' }] });
    r.reportCheck('c1', 'passing', '', 1);
    r.reportCheck('c2', 'passing', '', 1);
    expect(statusOf(r, 'a')).toBe('critical');
    expect(r.reportCheck('c3', 'warning', '', 1)).toBe(true);
    expect(statusOf(r, 'a')).toBe('warning');
    expect(r.reportCheck('c3', 'passing', '', 2)).toBe(true);
    expect(statusOf(r, 'a')).toBe('passing');
    expect(r.reportCheck('c1', 'critical', '', 3)).toBe(true);
    expect(r.reportCheck('c2', 'warning', '', 3)).toBe(false);
    expect(statusOf(r, 'a')).toBe('critical');
    expect(r.reportCheck('c1', 'passing', '', 4)).toBe(true);
    expect(statusOf(r, 'a')).toBe('warning');
  });

  it('successBeforePassing: that many consecutive passes before passing; a failure restarts the count', () => {
    const r = registry();
    reg(r, { id: 'a', name: 'web', port: 80, checks: [{ id: 'c', ttl: '10s', successBeforePassing: 3 }] });
    expect(r.reportCheck('c', 'passing', '', 1)).toBe(false);
    expect(r.reportCheck('c', 'passing', '', 2)).toBe(false);
    expect(r.reportCheck('c', 'critical', '', 3)).toBe(false);
    expect(r.reportCheck('c', 'passing', '', 4)).toBe(false);
    expect(r.reportCheck('c', 'passing', '', 5)).toBe(false);
    expect(statusOf(r, 'a')).toBe('critical');
    expect(r.reportCheck('c', 'passing', '', 6)).toBe(true);
    expect(statusOf(r, 'a')).toBe('passing');
  });

  it('failuresBeforeCritical: a flapping check does not change the status', () => {
    const r = registry();
    reg(r, { id: 'a', name: 'web', port: 80, checks: [{ id: 'c', ttl: '10s', status: 'passing', failuresBeforeCritical: 2 }] });
    for (let i = 0; i < 20; i++) {
      expect(r.reportCheck('c', i % 2 === 0 ? 'critical' : 'passing', '', i)).toBe(false);
      expect(statusOf(r, 'a')).toBe('passing');
    }
    expect(r.reportCheck('c', 'critical', '', 21)).toBe(false);
    expect(r.reportCheck('c', 'critical', '', 22)).toBe(true);
    expect(statusOf(r, 'a')).toBe('critical');
  });

  it('both dampings together keep a flapping check in whatever state it was', () => {
    const r = registry();
    reg(r, { id: 'a', name: 'web', port: 80, checks: [{ id: 'c', ttl: '10s', successBeforePassing: 2, failuresBeforeCritical: 2 }] });
    for (let i = 0; i < 10; i++) r.reportCheck('c', i % 2 === 0 ? 'passing' : 'critical', '', i);
    expect(statusOf(r, 'a')).toBe('critical');
    r.reportCheck('c', 'passing', '', 10);
    r.reportCheck('c', 'passing', '', 11);
    expect(statusOf(r, 'a')).toBe('passing');
    for (let i = 0; i < 10; i++) r.reportCheck('c', i % 2 === 0 ? 'critical' : 'passing', '', 12 + i);
    expect(statusOf(r, 'a')).toBe('passing');
  });

  it('without damping, every change of result changes the status at once', () => {
    const r = registry();
    reg(r, { id: 'a', name: 'web', port: 80, checks: [{ id: 'c', ttl: '10s' }] });
    const seq = ['passing', 'warning', 'critical', 'warning', 'passing'] as const;
    for (const s of seq) {
      expect(r.reportCheck('c', s, '', 0)).toBe(true);
      expect(statusOf(r, 'a')).toBe(s);
    }
  });

  it('keeps the output, truncated past MAX_CHECK_OUTPUT', () => {
    const r = registry();
    reg(r, { id: 'a', name: 'web', port: 80, checks: [{ id: 'c', ttl: '10s' }] });
    r.reportCheck('c', 'passing', 'x'.repeat(MAX_CHECK_OUTPUT + 10), 1);
    const out = r.checks()[0]!.output;
    expect(out).toBe(`${'x'.repeat(MAX_CHECK_OUTPUT)}…`);
    r.reportCheck('c', 'passing', 'y'.repeat(MAX_CHECK_OUTPUT), 2);
    expect(r.checks()[0]!.output).toBe('y'.repeat(MAX_CHECK_OUTPUT));
  });

  it('reportCheck on an unknown check throws UnknownServiceError', () => {
    const err = thrown(() => registry().reportCheck('nope', 'passing', '', 0));
    expect(err).toBeInstanceOf(UnknownServiceError);
    expect((err as UnknownServiceError).code).toBe('HEARSAY_ERR_UNKNOWN_CHECK');
  });
});

// ---------------------------------------------------------------------------------------------
// LocalRegistry: maintenance
// ---------------------------------------------------------------------------------------------

describe('LocalRegistry maintenance', () => {
  function twoServices(): LocalRegistry {
    const r = registry();
    reg(r, { id: 'a', name: 'web', port: 80, checks: [{ id: 'ca', ttl: '10s', status: 'passing' }] });
    reg(r, { id: 'b', name: 'db', port: 81 });
    return r;
  }

  it('per service: the instance goes to maintenance, and back to its checks\' status when cleared', () => {
    const r = twoServices();
    expect(r.setServiceMaintenance('a', 'upgrading')).toBe(true);
    expect(statusOf(r, 'a')).toBe('maintenance');
    expect(r.service('a')!.maintenance).toBe('upgrading');
    expect(statusOf(r, 'b')).toBe('passing');
    expect(r.setServiceMaintenance('a', 'still upgrading')).toBe(false);
    // Check results during maintenance are kept but do not show.
    expect(r.reportCheck('ca', 'critical', 'down', 1)).toBe(false);
    expect(statusOf(r, 'a')).toBe('maintenance');
    expect(r.setServiceMaintenance('a', undefined)).toBe(true);
    expect(statusOf(r, 'a')).toBe('critical');
    expect(r.service('a')!.maintenance).toBeUndefined();
  });

  it('per service maintenance survives a re-registration', () => {
    const r = twoServices();
    r.setServiceMaintenance('b', 'moving');
    reg(r, { id: 'b', name: 'db', port: 82 });
    expect(statusOf(r, 'b')).toBe('maintenance');
    expect(r.service('b')!.maintenance).toBe('moving');
  });

  it('per node: every instance, including ones registered later, until cleared', () => {
    const r = twoServices();
    expect(r.nodeInMaintenance).toBe(false);
    expect(r.setNodeMaintenance('kernel update')).toBe(true);
    expect(r.nodeInMaintenance).toBe(true);
    expect(r.records().map((x) => x.status)).toEqual(['maintenance', 'maintenance']);
    expect(r.service('a')!.maintenance).toBe('kernel update');
    reg(r, { id: 'c', name: 'api', port: 83 });
    expect(statusOf(r, 'c')).toBe('maintenance');
    expect(r.setNodeMaintenance('other reason')).toBe(false);
    expect(r.setNodeMaintenance(undefined)).toBe(true);
    expect(r.nodeInMaintenance).toBe(false);
    expect(r.records().map((x) => x.status)).toEqual(['passing', 'passing', 'passing']);
  });

  it('service and node maintenance overlap: clearing one leaves the other', () => {
    const r = twoServices();
    r.setServiceMaintenance('a', 'svc');
    r.setNodeMaintenance('node');
    expect(r.service('a')!.maintenance).toBe('svc');
    expect(r.service('b')!.maintenance).toBe('node');
    r.setNodeMaintenance(undefined);
    expect(statusOf(r, 'a')).toBe('maintenance');
    expect(statusOf(r, 'b')).toBe('passing');
    r.setNodeMaintenance('node');
    r.setServiceMaintenance('a', undefined);
    expect(statusOf(r, 'a')).toBe('maintenance');
    expect(r.service('a')!.maintenance).toBe('node');
  });

  it('maintenance on an unknown instance throws UnknownServiceError', () => {
    const err = thrown(() => registry().setServiceMaintenance('nope', 'x'));
    expect(err).toBeInstanceOf(UnknownServiceError);
    expect((err as UnknownServiceError).code).toBe('HEARSAY_ERR_UNKNOWN_SERVICE');
  });
});

// ---------------------------------------------------------------------------------------------
// LocalRegistry: deregisterCriticalAfter
// ---------------------------------------------------------------------------------------------

describe('LocalRegistry.expiredCritical', () => {
  it('lists an instance once its check has been critical for deregisterCriticalAfter', () => {
    const r = registry();
    reg(r, { id: 'a', name: 'web', port: 80, checks: [{ id: 'c', ttl: '10s', deregisterCriticalAfter: '1m' }] }, 1000);
    reg(r, { id: 'b', name: 'web', port: 81, checks: [{ id: 'd', ttl: '10s' }] }, 1000);
    expect(r.expiredCritical(1000 + 59_999)).toEqual([]);
    expect(r.expiredCritical(1000 + 60_000)).toEqual(['a']);
    // A pass resets it; the next critical starts a new period.
    r.reportCheck('c', 'passing', '', 70_000);
    expect(r.expiredCritical(1_000_000)).toEqual([]);
    r.reportCheck('c', 'critical', '', 100_000);
    r.reportCheck('c', 'critical', '', 150_000);
    expect(r.expiredCritical(159_999)).toEqual([]);
    expect(r.expiredCritical(160_000)).toEqual(['a']);
    // Warning is not critical.
    r.reportCheck('c', 'warning', '', 170_000);
    expect(r.expiredCritical(10_000_000)).toEqual([]);
  });

  it('counts from when the check became critical, not from a damped failure', () => {
    const r = registry();
    reg(r, { id: 'a', name: 'web', port: 80, checks: [{ id: 'c', ttl: '10s', status: 'passing', failuresBeforeCritical: 3, deregisterCriticalAfter: 1000 }] });
    r.reportCheck('c', 'critical', '', 0);
    r.reportCheck('c', 'critical', '', 500);
    expect(r.expiredCritical(5000)).toEqual([]);
    r.reportCheck('c', 'critical', '', 6000);
    expect(r.expiredCritical(6999)).toEqual([]);
    expect(r.expiredCritical(7000)).toEqual(['a']);
  });

  it('lists each instance once, even with several expired checks, and not after deregistration', () => {
    const r = registry();
    reg(r, { id: 'a', name: 'web', port: 80, checks: [{ id: 'c1', ttl: '10s', deregisterCriticalAfter: 10 }, { id: 'c2', ttl: '10s', deregisterCriticalAfter: 10 }] });
    reg(r, { id: 'b', name: 'web', port: 81, checks: [{ id: 'c3', ttl: '10s', deregisterCriticalAfter: 10 }] });
    expect(r.expiredCritical(10)).toEqual(['a', 'b']);
    r.deregister('a');
    expect(r.expiredCritical(10)).toEqual(['b']);
  });

  it('a check that starts passing or warning is not critical until it reports so', () => {
    const r = registry();
    reg(r, { id: 'a', name: 'web', port: 80, checks: [{ id: 'c', ttl: '10s', status: 'warning', deregisterCriticalAfter: 10 }] });
    expect(r.expiredCritical(1_000_000)).toEqual([]);
    r.reportCheck('c', 'critical', '', 2_000_000);
    expect(r.expiredCritical(2_000_010)).toEqual(['a']);
  });
});

// ---------------------------------------------------------------------------------------------
// property: damping and deregistration semantics
// ---------------------------------------------------------------------------------------------

describe('LocalRegistry damping, as a property', () => {
  it('status follows the documented rules for any sequence of results', () => {
    const arbResult = fc.constantFrom<CheckStatus>('passing', 'warning', 'critical');
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        arbResult,
        fc.array(arbResult, { maxLength: 40 }),
        (successBeforePassing, failuresBeforeCritical, initial, results) => {
          const r = registry();
          const limit = 5;
          reg(r, { id: 'a', name: 'web', port: 80, checks: [{ id: 'c', ttl: '10s', status: initial, successBeforePassing, failuresBeforeCritical, deregisterCriticalAfter: limit }] });
          let status: CheckStatus = initial;
          let criticalSince: number | undefined = initial === 'critical' ? 0 : undefined;
          let passRun = 0;
          let failRun = 0;
          results.forEach((result, i) => {
            const now = (i + 1) * 2;
            const changed = r.reportCheck('c', result, `#${i}`, now);
            const next = statusOf(r, 'a') as CheckStatus;
            expect(changed).toBe(next !== status);
            if (result === 'passing') {
              passRun++;
              failRun = 0;
            } else {
              failRun++;
              passRun = 0;
            }
            // A change always goes to the latest result.
            if (next !== status) expect(next).toBe(result);
            // Passing only after successBeforePassing passes in a row (unless it was passing already).
            if (next === 'passing' && status !== 'passing') expect(passRun).toBeGreaterThanOrEqual(successBeforePassing);
            if (passRun >= successBeforePassing) expect(next).toBe('passing');
            // Leaving passing only after failuresBeforeCritical failures in a row.
            if (status === 'passing' && next !== 'passing') expect(failRun).toBeGreaterThanOrEqual(failuresBeforeCritical);
            if (failRun >= failuresBeforeCritical) expect(next).not.toBe('passing');
            // Between warning and critical there is no damping.
            if (status !== 'passing' && result !== 'passing') expect(next).toBe(result);
            if (next === 'critical' && status !== 'critical') criticalSince = now;
            if (next !== 'critical') criticalSince = undefined;
            status = next;
            expect(r.checks()[0]).toMatchObject({ status, output: `#${i}` });
            const expired = criticalSince !== undefined && now + limit - 1 - criticalSince >= limit;
            expect(r.expiredCritical(now + limit - 1)).toEqual(expired ? ['a'] : []);
            expect(r.expiredCritical(now + 1_000)).toEqual(criticalSince !== undefined ? ['a'] : []);
          });
        },
      ),
      { numRuns: 500 },
    );
  });
});
