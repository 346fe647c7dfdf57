/**
 * The pure parts of revocation lists spreading (identity/revocation-spread.ts): the announcement's
 * bytes, who is asked next, and the fetcher over an injected dial and clock: one fetch in flight,
 * a failed holder not asked again for that version, hostile answers dropped and counted by reason.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import {
  ANNOUNCEMENT_BYTES,
  decodeAnnouncement,
  encodeAnnouncement,
  FetchPlanner,
  issuerPrefix,
  MAX_SERVES_PER_SECOND,
  RevocationSpread,
  type RevocationSpreadOptions,
} from '../../src/identity/revocation-spread.js';
import { MAX_REVOCATIONS_BYTES, signRevocations, type RevocationList } from '../../src/identity/revocations.js';
import { testCa, type TestCa } from './support.js';

const ca = testCa();
const other = testCa();

function list(version: number, by: TestCa = ca, serials: readonly string[] = ['0A']): RevocationList {
  return signRevocations({ issuer: by.cert.fingerprint256, version, issuedAt: new Date(0).toISOString(), revoked: serials.map((serial) => ({ serial, revokedAt: new Date(0).toISOString() })) }, by.privateKey);
}
const bytes = (v: unknown): Uint8Array => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v), 'utf8');

describe('the announcement entry', () => {
  it('carries the version and the CA fingerprint prefix in 15 bytes, and refuses anything else', () => {
    const v = encodeAnnouncement(2 ** 40 + 7, ca.cert.fingerprint256);
    expect(v.length).toBe(ANNOUNCEMENT_BYTES);
    expect(decodeAnnouncement(v)).toEqual({ version: 2 ** 40 + 7, issuer: issuerPrefix(ca.cert.fingerprint256) });
    expect(decodeAnnouncement(encodeAnnouncement(0, ca.cert.fingerprint256))?.version).toBe(0);
    expect(decodeAnnouncement(v.subarray(1))).toBeNull();
    const wrongMagic = v.slice();
    wrongMagic[0] = 0;
    expect(decodeAnnouncement(wrongMagic)).toBeNull();
    expect(issuerPrefix('AB:CD:EF:01:23:45:67:89:FF')).toBe('abcdef0123456789');
  });
});

describe('FetchPlanner', () => {
  const at = (port: number) => ({ host: '127.0.0.1', port });

  it('asks a holder of the highest version above ours, at random among them, never one that failed for it', () => {
    const p = new FetchPlanner();
    p.announce('a', at(1), 2);
    p.announce('b', at(2), 3);
    p.announce('c', at(3), 3);
    p.announce('d', at(4), 1);
    expect(p.next(1, () => 0)?.node).toBe('b');
    expect(p.next(1, () => 0.99)?.node).toBe('c');
    p.fail('b', 3);
    expect(p.next(1, () => 0)?.node).toBe('c');
    p.fail('c', 3);
    // Nobody left for 3: a holder of 2 is still progress.
    expect(p.next(1, () => 0)).toEqual({ node: 'a', addr: at(1), version: 2 });
    p.fail('a', 2);
    expect(p.next(1, () => 0)).toBeNull();
    expect(p.wants(1)).toBe(true);
    p.newRound();
    expect(p.next(1, () => 0)?.node).toBe('b');
    expect(p.next(3, () => 0)).toBeNull();
    expect(p.wants(3)).toBe(false);
    p.forget('b');
    p.forget('c');
    expect(p.next(2, () => 0)).toBeNull();
  });

  it('a holder that announces a newer version may be asked again for it', () => {
    const p = new FetchPlanner();
    p.announce('a', at(1), 2);
    p.fail('a', 2);
    expect(p.next(1, () => 0)).toBeNull();
    p.announce('a', at(1), 3);
    expect(p.next(1, () => 0)?.version).toBe(3);
  });
});

/** A RevocationSpread over a manual clock and a scripted dial. */
function harness(answers: Record<string, (have: number) => Uint8Array | null>) {
  let inForce: RevocationList | undefined;
  const adopted: { version: number; from: string }[] = [];
  const timers: { at: number; fn: () => void }[] = [];
  let now = 0;
  const asked: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const options: RevocationSpreadOptions = {
    ca: ca.cert,
    current: () => inForce,
    adopt: (l, from) => {
      inForce = l;
      adopted.push({ version: l.version, from });
    },
    fetch: async (to, request) => {
      const name = `n${to.port}`;
      asked.push(name);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await Promise.resolve();
      inFlight--;
      const a = answers[name]?.(request.have) ?? null;
      return a === null ? { ok: false, message: 'connection refused' } : { ok: true, answer: a };
    },
    random: () => 0,
    now: () => now,
    after: (ms, fn) => {
      const t = { at: now + ms, fn };
      timers.push(t);
      return () => void timers.splice(timers.indexOf(t), 1);
    },
    log: silentLogger(),
  };
  const spread = new RevocationSpread(options);
  /** Runs every timer due within `ms`, letting each fetch settle. */
  const advance = async (ms: number): Promise<void> => {
    const end = now + ms;
    for (;;) {
      timers.sort((a, b) => a.at - b.at);
      const t = timers[0];
      if (t === undefined || t.at > end) break;
      timers.shift();
      now = t.at;
      t.fn();
      for (let i = 0; i < 10; i++) await Promise.resolve();
    }
    now = end;
  };
  const announce = (port: number, version: number, by: TestCa = ca): void => spread.onAnnouncement(`n${port}`, { host: '127.0.0.1', port }, encodeAnnouncement(version, by.cert.fingerprint256));
  return { spread, adopted, asked, advance, announce, maxInFlight: () => maxInFlight, set: (l: RevocationList) => (inForce = l) };
}

describe('RevocationSpread', () => {
  it('fetches a newer list once, from one holder, and adopts it', async () => {
    const h = harness({ n1: () => bytes(list(1)), n2: () => bytes(list(1)) });
    h.announce(1, 1);
    h.announce(2, 1);
    h.announce(1, 1);
    await h.advance(10_000);
    expect(h.adopted).toEqual([{ version: 1, from: 'n1' }]);
    expect(h.asked).toEqual(['n1']);
    expect(h.spread.counters['identity.revocations.fetches.adopted']).toBe(1);
    // Our own announcement now says 1; an announcement of 1 fetches nothing.
    expect(decodeAnnouncement(h.spread.announcement())?.version).toBe(1);
    h.announce(2, 1);
    await h.advance(10_000);
    expect(h.asked).toEqual(['n1']);
  });

  it("drops hostile answers by reason (garbage, another CA's, a bad signature, an older list, oversized) and tries another holder each time", async () => {
    const tampered = { ...list(5), version: 6 };
    const h = harness({
      n1: () => bytes('not json {'),
      n2: () => bytes(list(5, other)),
      n3: () => bytes(tampered),
      n4: () => bytes(list(1)),
      n5: () => new Uint8Array(MAX_REVOCATIONS_BYTES + 1),
      n6: () => bytes({}),
      n7: () => null,
      n8: () => bytes(list(5)),
    });
    h.set(list(2));
    for (let p = 1; p <= 8; p++) h.announce(p, 5);
    // A different random pick each time would be as good; with random() = 0 the first untried goes first.
    await h.advance(60_000);
    expect(h.adopted).toEqual([{ version: 5, from: 'n8' }]);
    expect(h.asked).toEqual(['n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7', 'n8']);
    expect(h.maxInFlight()).toBe(1);
    const c = h.spread.counters;
    expect({
      malformed: c['identity.revocations.dropped.malformed'],
      wrongCa: c['identity.revocations.dropped.wrong-ca'],
      badSignature: c['identity.revocations.dropped.bad-signature'],
      older: c['identity.revocations.dropped.older'],
      oversized: c['identity.revocations.dropped.oversized'],
    }).toEqual({ malformed: 1, wrongCa: 1, badSignature: 1, older: 1, oversized: 1 });
    expect(c['identity.revocations.fetches.dropped']).toBe(5);
    expect(c['identity.revocations.fetches.failed']).toBe(2);
    expect(c['identity.revocations.fetches.adopted']).toBe(1);
  });

  it('asks every holder once a round, then again a round later, and ignores another CA\'s announcements', async () => {
    let good = false;
    const h = harness({ n1: () => (good ? bytes(list(1)) : null) });
    h.announce(9, 4, other);
    h.announce(1, 1);
    await h.advance(20_000);
    expect(h.asked).toEqual(['n1']);
    good = true;
    await h.advance(20_000);
    expect(h.asked).toEqual(['n1', 'n1']);
    expect(h.adopted).toEqual([{ version: 1, from: 'n1' }]);
  });

  it('once every holder failed, a newly announced holder is asked at once, not at the next round', async () => {
    const h = harness({ n1: () => null, n2: () => bytes(list(1)) });
    h.announce(1, 1);
    await h.advance(5000);
    expect(h.asked).toEqual(['n1']);
    h.announce(2, 1);
    await h.advance(3000);
    expect(h.asked).toEqual(['n1', 'n2']);
    expect(h.adopted).toEqual([{ version: 1, from: 'n2' }]);
  });

  it('serves at most MAX_SERVES_PER_SECOND lists a second, answering busy beyond; a busy holder is asked again, not dropped', async () => {
    let t = 0;
    const held = list(1);
    const server = new RevocationSpread({ ca: ca.cert, current: () => held, adopt: () => undefined, fetch: () => Promise.resolve({ ok: false, message: '' }), random: () => 0, now: () => t, after: () => () => undefined, log: silentLogger() });
    const answers = Array.from({ length: MAX_SERVES_PER_SECOND + 2 }, () => Buffer.from(server.answer()).toString('utf8'));
    expect(answers.filter((a) => a === '{"busy":true}').length).toBe(2);
    expect(JSON.parse(answers[0] as string)).toEqual(held);
    expect(server.counters['identity.revocations.served']).toBe(MAX_SERVES_PER_SECOND);
    expect(server.counters['identity.revocations.servedBusy']).toBe(2);
    t += 1000;
    expect(Buffer.from(server.answer()).toString('utf8')).not.toBe('{"busy":true}');

    let calls = 0;
    const h = harness({ n1: () => (++calls <= 2 ? bytes({ busy: true }) : bytes(list(1))) });
    h.announce(1, 1);
    await h.advance(10_000);
    expect(h.asked).toEqual(['n1', 'n1', 'n1']);
    expect(h.adopted).toEqual([{ version: 1, from: 'n1' }]);
    expect(h.spread.counters['identity.revocations.fetches.busy']).toBe(2);
    expect(h.spread.counters['identity.revocations.dropped.malformed']).toBe(0);
  });

  it('checks a list as the API gives it: never a rollback', () => {
    const h = harness({});
    h.set(list(3));
    expect(h.spread.check(bytes(list(3)), 'x')).toMatchObject({ ok: false, reason: 'older' });
    expect(h.spread.check(bytes(list(2)), 'x')).toMatchObject({ ok: false, reason: 'older' });
    expect(h.spread.check(bytes(list(4)), 'x')).toMatchObject({ ok: true });
    expect(h.spread.check(bytes(list(4, other)), 'x')).toMatchObject({ ok: false, reason: 'wrong-ca' });
    expect(h.spread.check(bytes({ ...list(4), signature: 'AAAA' }), 'x')).toMatchObject({ ok: false, reason: 'bad-signature' });
  });
});
