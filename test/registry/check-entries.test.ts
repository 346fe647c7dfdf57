/**
 * Issue 16: an instance's checks in its node's state (`c:<id>`), so other agents show each check and
 * its output: the entry's format (hostile bytes never throw, never decode to nonsense), what is
 * published when (a status at once, an output alone once per interval), and the registry feed that
 * holds other nodes' checks.
 */
import { describe, expect, it } from 'vitest';
import {
  CHECKS_KEY_PREFIX,
  checksKey,
  cutUtf8,
  decodeChecksEntry,
  encodeChecksEntry,
  GOSSIPED_CHECK_OUTPUT_BYTES,
  planChecks,
  type HeldChecks,
} from '../../src/registry/check-entries.js';
import type { CheckInfo } from '../../src/registry/local.js';
import { RegistryFeed } from '../../src/registry/state-feed.js';
import { ServiceIndex } from '../../src/registry/service-index.js';
import { SeededRandom } from '../../src/util/random.js';

const check = (id: string, serviceId: string, status: CheckInfo['status'] = 'passing', output = '', kind: CheckInfo['kind'] = 'ttl'): CheckInfo => ({ id, serviceId, kind, status, output });
const utf8 = (s: string): number => new TextEncoder().encode(s).length;

describe('the checks entry', () => {
  it('round-trips every kind and status, with outputs in any script', () => {
    const checks = [check('a', 'web-1', 'passing', 'ok', 'http'), check('b', 'web-1', 'warning', 'slow: 900 ms', 'tcp'), check('c', 'web-1', 'critical', 'exit 2: Ωμέγα 日本 😀', 'command'), check('d', 'web-1', 'passing', '', 'ttl')];
    const r = decodeChecksEntry('web-1', encodeChecksEntry(checks));
    expect(r).toEqual({ ok: true, checks });
  });

  it('cuts a long output at a character boundary, within the gossip budget, and marks the cut', () => {
    for (const unit of ['x', 'é', '日', '😀']) {
      const long = unit.repeat(1000);
      const cut = cutUtf8(long, GOSSIPED_CHECK_OUTPUT_BYTES);
      expect(utf8(cut)).toBeLessThanOrEqual(GOSSIPED_CHECK_OUTPUT_BYTES);
      expect(cut.endsWith('…')).toBe(true);
      expect(long.startsWith(cut.slice(0, -1))).toBe(true);
      const r = decodeChecksEntry('s', encodeChecksEntry([check('k', 's', 'critical', long)]));
      expect(r.ok && r.checks[0]?.output).toBe(cut);
    }
    expect(cutUtf8('short', GOSSIPED_CHECK_OUTPUT_BYTES)).toBe('short');
  });

  it('refuses, with a reason, what is not a valid entry', () => {
    const good = encodeChecksEntry([check('a', 's')]);
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array([]), /truncated/],
      [Uint8Array.of(0x53, 1, 0), /not a checks entry/],
      [Uint8Array.of(0x43, 9, 0), /unknown checks entry version 9/],
      [Uint8Array.of(...good, 0), /1 trailing bytes/],
      [good.subarray(0, good.length - 1), /truncated|past the end/],
      [Uint8Array.of(0x43, 1, 1, 0, 0, 0, 0, 0), /empty id/],
      [Uint8Array.of(0x43, 1, 1, 1, 0x61, 7, 0, 0, 0), /unknown kind/],
      [Uint8Array.of(0x43, 1, 1, 1, 0x61, 0, 3, 0, 0), /unknown status/],
      [Uint8Array.of(0x43, 1, 2, 1, 0x61, 0, 0, 0, 0, 1, 0x61, 0, 0, 0, 0), /listed twice/],
      [Uint8Array.of(0x43, 1, 1, 1, 0xff, 0, 0, 0, 0), /invalid UTF-8/],
      [Uint8Array.of(0x43, 1, 1, 1, 0x61, 0, 0, 0x01, 0x01, ...new Uint8Array(257).fill(0x61)), /over 256 bytes/],
    ];
    for (const [bytes, reason] of cases) {
      const r = decodeChecksEntry('s', bytes);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(reason);
    }
  });

  it('never throws on random or mutated bytes (fuzz)', () => {
    const random = new SeededRandom(16);
    const base = encodeChecksEntry([check('a', 's', 'warning', 'out'), check('b', 's', 'critical', 'x'.repeat(40), 'http')]);
    for (let i = 0; i < 5000; i++) {
      const bytes = i % 2 === 0 ? Uint8Array.from({ length: random.int(65) }, () => random.int(256)) : Uint8Array.from(base, (b) => (random.next() < 0.1 ? random.int(256) : b));
      const r = decodeChecksEntry('s', bytes);
      if (r.ok) for (const c of r.checks) expect(utf8(c.output)).toBeLessThanOrEqual(GOSSIPED_CHECK_OUTPUT_BYTES);
    }
  });
});

describe('what is published when', () => {
  const hour = 3_600_000;
  const apply = (held: Map<string, HeldChecks>, plan: ReturnType<typeof planChecks>): void => {
    for (const [k, v] of plan.held) {
      if (v === null) held.delete(k);
      else held.set(k, v);
    }
  };

  it('publishes a new instance at once, a status change at once, an output alone once the interval has passed, and removes a gone instance', () => {
    const held = new Map<string, HeldChecks>();
    let plan = planChecks(held, [check('a', 'web-1'), check('b', 'web-1'), check('c', 'web-2')], 0, hour);
    expect(plan.changes.map((c) => c.key).sort()).toEqual([checksKey('web-1'), checksKey('web-2')]);
    apply(held, plan);
    expect(planChecks(held, [check('b', 'web-1'), check('a', 'web-1'), check('c', 'web-2')], 1, hour).changes).toEqual([]); // order does not matter

    // An output alone waits for the interval, and says when it falls due.
    plan = planChecks(held, [check('a', 'web-1', 'passing', 'took 3 ms'), check('b', 'web-1'), check('c', 'web-2')], 10, hour);
    expect(plan.changes).toEqual([]);
    expect(plan.nextDueAt).toBe(hour);
    plan = planChecks(held, [check('a', 'web-1', 'passing', 'took 3 ms'), check('b', 'web-1'), check('c', 'web-2')], hour, hour);
    expect(plan.changes.map((c) => c.key)).toEqual([checksKey('web-1')]);
    apply(held, plan);

    // A status change goes at once, output and all.
    plan = planChecks(held, [check('a', 'web-1', 'passing', 'took 3 ms'), check('b', 'web-1', 'critical', 'refused'), check('c', 'web-2')], hour + 1, hour);
    expect(plan.changes).toHaveLength(1);
    const r = decodeChecksEntry('web-1', plan.changes[0]!.value!);
    expect(r.ok && r.checks.map((c) => [c.id, c.status, c.output])).toEqual([
      ['a', 'passing', 'took 3 ms'],
      ['b', 'critical', 'refused'],
    ]);
    apply(held, plan);

    // An instance whose checks are gone loses its entry.
    plan = planChecks(held, [check('c', 'web-2')], hour + 2, hour);
    expect(plan.changes).toEqual([{ key: checksKey('web-1'), value: null }]);
    expect(plan.held.get(checksKey('web-1'))).toBeNull();
  });
});

describe('the registry feed holds other nodes checks', () => {
  it('keeps each instance checks as published, tells of every change, drops a deleted entry, and counts an invalid one', () => {
    const index = new ServiceIndex();
    const feed = new RegistryFeed(index, 'self');
    const told: [string, string, number | null][] = [];
    feed.onChecks = (node, id, checks) => told.push([node, id, checks === null ? null : checks.length]);
    const entry = (key: string, value: Uint8Array, version: number, deleted = false) => ({ key, value, version, deleted });
    feed.onEvent({ type: 'state-update', node: 'b', changed: [entry(checksKey('web-1'), encodeChecksEntry([check('x', 'web-1', 'critical', 'no answer')]), 1)] });
    expect(feed.checksOf('b')).toEqual([check('x', 'web-1', 'critical', 'no answer')]);
    feed.onEvent({ type: 'state-update', node: 'b', changed: [entry(`${CHECKS_KEY_PREFIX}web-2`, Uint8Array.of(1, 2, 3), 2)] });
    expect(index.counters.invalidPayloads).toBe(1);
    expect(feed.checksOf('b')).toHaveLength(1);
    feed.onEvent({ type: 'state-update', node: 'b', changed: [entry(checksKey('web-1'), new Uint8Array(0), 3, true)] });
    expect(feed.checksOf('b')).toEqual([]);
    // Its own entries are not fed: the agent serves its own checks in full.
    feed.onEvent({ type: 'state-update', node: 'self', changed: [entry(checksKey('s-1'), encodeChecksEntry([check('y', 's-1')]), 1)] });
    expect(feed.checksOf('self')).toEqual([]);
    expect(told).toEqual([
      ['b', 'web-1', 1],
      ['b', 'web-1', null],
    ]);
  });
});
