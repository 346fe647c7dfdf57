/** Renewal from files (identity/watch.ts): renewed, unchanged, refused (the old kept), expiry warnings. */
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { checkIdentity, IdentityError, type NodeIdentity } from '../../src/identity/identity.js';
import { signRevocations } from '../../src/identity/revocations.js';
import { fileStamp, IdentityWatch } from '../../src/identity/watch.js';
import { privateKeyPem } from '../../src/identity/x509.js';
import { DAY, testCa, testNodeCert } from './support.js';

function logSink(): { logger: Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const logger: Logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as { level: number; msg: string }) }) as unknown as Logger;
  return { logger, lines };
}

describe('IdentityWatch', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearsay-watch-'));
  const ca = testCa();
  const files = { ca: join(dir, 'ca.crt'), cert: join(dir, 'web-1.crt'), certKey: join(dir, 'web-1.key'), revocations: join(dir, 'rev.json') };
  const put = (node: string, o: Parameters<typeof testNodeCert>[1] = {}): ReturnType<typeof testNodeCert> => {
    const n = testNodeCert(ca, { node, ...o });
    // Written next to the files and renamed over them, as a deployment tool would.
    writeFileSync(`${files.cert}.new`, n.pem);
    writeFileSync(`${files.certKey}.new`, privateKeyPem(n.key));
    renameSync(`${files.cert}.new`, files.cert);
    renameSync(`${files.certKey}.new`, files.certKey);
    return n;
  };
  const putList = (version: number, revoked: { serial: string }[] = []): void =>
    writeFileSync(files.revocations, JSON.stringify(signRevocations({ issuer: ca.cert.fingerprint256, version, issuedAt: new Date().toISOString(), revoked: revoked.map((r) => ({ ...r, revokedAt: new Date().toISOString() })) }, ca.privateKey)));
  writeFileSync(files.ca, ca.pem);

  it('renews from changed files, does nothing for the same ones, and keeps the old identity when the new files are refused', async () => {
    const first = put('web-1');
    putList(1);
    let current: NodeIdentity = checkIdentity({ ca: ca.cert, cert: first.cert, key: first.key }, 'web-1', Date.now());
    current = { ...current, revocationsVersion: 1 };
    const applied: NodeIdentity[] = [];
    const { logger, lines } = logSink();
    const watch = new IdentityWatch({ files, current: () => current, apply: (n) => { applied.push(n); current = n; }, log: logger });

    const second = put('web-1', { services: ['billing'] });
    expect(await watch.reload('test')).toMatchObject({ outcome: 'renewed', fingerprint: second.cert.fingerprint256 });
    expect(current.services).toEqual(['billing']);
    expect(await watch.reload('test')).toMatchObject({ outcome: 'unchanged' });

    // Refused, each for its reason, the identity in force kept and the reason logged.
    put('web-2');
    expect(await watch.reload('test')).toMatchObject({ outcome: 'refused', error: expect.stringMatching(/for the node "web-2", not "web-1"/) as unknown });
    put('web-1', { notBeforeMs: Date.now() - 10 * DAY, notAfterMs: Date.now() - DAY });
    expect(await watch.reload('test')).toMatchObject({ outcome: 'refused', error: expect.stringMatching(/expired/) as unknown });
    writeFileSync(files.certKey, 'garbage');
    expect(await watch.reload('test')).toMatchObject({ outcome: 'refused', error: expect.stringMatching(/not a PEM private key/) as unknown });
    const third = put('web-1');
    putList(2, [{ serial: third.cert.serialNumber }]);
    expect(await watch.reload('test')).toMatchObject({ outcome: 'refused', error: expect.stringMatching(/revoked/) as unknown });
    // A newer list that does not revoke it: renewed, with the list's version; then an older list is a rollback.
    putList(3);
    expect(await watch.reload('test')).toMatchObject({ outcome: 'renewed', fingerprint: third.cert.fingerprint256 });
    expect(current.revocationsVersion).toBe(3);
    putList(2);
    expect(await watch.reload('test')).toMatchObject({ outcome: 'refused', error: expect.stringMatching(/version 2, older than version 3/) as unknown });
    expect(current.fingerprint).toBe(third.cert.fingerprint256);
    expect(applied).toHaveLength(2);
    expect(watch.counters).toEqual({ 'identity.renewals': 2, 'identity.renewalsRefused': 5 });
    expect(lines.filter((l) => l.msg.startsWith('kept the current certificate'))).toHaveLength(5);

    // The agent's own refusal (setIdentity throws) keeps it too.
    putList(4);
    const refusing = new IdentityWatch({ files, current: () => current, apply: () => { throw new IdentityError('services-in-use', 'the new certificate does not allow "x"'); }, log: logger });
    expect(await refusing.reload('test')).toMatchObject({ outcome: 'refused', error: 'the new certificate does not allow "x"' });
    expect(current.revocationsVersion).toBe(3);
  });

  it('warns once a third of the lifetime is left, at most hourly, and logs an error once expired', () => {
    const n = testNodeCert(ca, { node: 'web-1', notBeforeMs: 0, notAfterMs: 30 * DAY });
    const id = checkIdentity({ ca: ca.cert, cert: n.cert, key: n.key }, 'web-1', 10 * DAY);
    let now = 10 * DAY;
    const { logger, lines } = logSink();
    const watch = new IdentityWatch({ files, current: () => id, apply: () => undefined, log: logger, now: () => now });
    watch.checkExpiry();
    expect(lines).toHaveLength(0);
    now = 21 * DAY; // 9 days left of 30: under a third
    watch.checkExpiry();
    watch.checkExpiry();
    expect(lines).toHaveLength(1);
    expect(lines[0]?.level).toBe(40);
    expect(lines[0]?.msg).toMatch(/expires at .* \(in 216 h\): issue a new one/);
    now += 3_600_000;
    watch.checkExpiry();
    expect(lines).toHaveLength(2);
    now = 31 * DAY;
    watch.checkExpiry();
    expect(lines[2]?.level).toBe(50);
    expect(lines[2]?.msg).toMatch(/expired at/);
  });

  it('stamps files by inode, size and mtime, and a missing file too', async () => {
    const a = await fileStamp([files.ca, join(dir, 'missing')]);
    expect(a).toMatch(/missing:ENOENT$/);
    writeFileSync(join(dir, 'missing'), 'x');
    expect(await fileStamp([files.ca, join(dir, 'missing')])).not.toBe(a);
  });
});

describe('watchFiles', () => {
  it('calls back when a watched file changes, not otherwise', async () => {
    const { watchFiles } = await import('../../src/identity/watch.js');
    const d = mkdtempSync(join(tmpdir(), 'hearsay-watchfiles-'));
    const f = join(d, 'tokens.json');
    writeFileSync(f, '[]');
    let changes = 0;
    const stop = watchFiles([f], 20, () => {
      changes++;
      return Promise.resolve();
    });
    try {
      await new Promise((r) => setTimeout(r, 120));
      expect(changes).toBe(0);
      writeFileSync(`${f}.new`, '[1]');
      renameSync(`${f}.new`, f);
      for (let i = 0; i < 100 && changes === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(changes).toBe(1);
    } finally {
      stop();
    }
  });
});
