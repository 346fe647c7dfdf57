import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initCa, inspectFile, issueCertificate, parseTtl, revokeCertificate } from '../../src/identity/ca.js';
import { loadIdentity } from '../../src/identity/identity.js';

describe('the offline CA (hearsay ca)', () => {
  const root = mkdtempSync(join(tmpdir(), 'hearsay-ca-'));
  const dir = join(root, 'ca');

  it('init writes a CA key (0600) and certificate, and refuses to overwrite them', async () => {
    const r = await initCa({ dir, trustDomain: 'prod.example', ttl: '3650d' });
    expect(statSync(r.key).mode & 0o777).toBe(0o600);
    expect(readFileSync(r.cert, 'utf8')).toMatch(/BEGIN CERTIFICATE/);
    await expect(initCa({ dir, trustDomain: 'prod.example', ttl: '3650d' })).rejects.toThrow(/already exists.*refusing to overwrite/);
    await expect(initCa({ dir: join(root, 'x'), trustDomain: 'Not Valid', ttl: '1d' })).rejects.toThrow(/--trust-domain/);
  });

  it('issue writes NAME.crt and NAME.key the agent accepts, with the services', async () => {
    const r = await issueCertificate({ dir, node: 'web-1', services: ['billing', 'api-*'], ttl: '7d', out: root });
    expect(r.cert).toBe(join(root, 'web-1.crt'));
    expect(statSync(r.key).mode & 0o777).toBe(0o600);
    const id = await loadIdentity({ ca: join(dir, 'ca.crt'), cert: r.cert, certKey: r.key }, 'web-1');
    expect(id.services).toEqual(['billing', 'api-*']);
    await expect(issueCertificate({ dir, node: 'web-1', services: [], ttl: '7d', out: root })).rejects.toThrow(/already exists/);
  });

  it('issue says what is wrong with each mistake', async () => {
    await expect(issueCertificate({ dir: join(root, 'none'), node: 'a', services: [], ttl: '7d', out: root })).rejects.toThrow(/holds no CA.*hearsay ca init/);
    await expect(issueCertificate({ dir, node: '../x', services: [], ttl: '7d', out: root })).rejects.toThrow(/--node/);
    await expect(issueCertificate({ dir, node: 'b', services: ['Bad'], ttl: '7d', out: root })).rejects.toThrow(/--services/);
    await expect(issueCertificate({ dir, node: 'b', services: [], ttl: 'soon', out: root })).rejects.toThrow(/--ttl "soon"/);
    await expect(issueCertificate({ dir, node: 'b', services: [], ttl: '4000d', out: root })).rejects.toThrow(/outlives the CA/);
  });

  it('revoke adds to a signed, versioned list the agent then refuses the certificate by', async () => {
    const a = await issueCertificate({ dir, node: 'web-2', services: [], ttl: '7d', out: root });
    const b = await issueCertificate({ dir, node: 'web-3', services: [], ttl: '7d', out: root });
    const r1 = await revokeCertificate({ dir, target: { file: a.cert }, reason: 'decommissioned' });
    expect(r1.version).toBe(1);
    const r2 = await revokeCertificate({ dir, target: { serial: b.serial.toLowerCase() } });
    expect(r2.version).toBe(2);
    expect(r2.revoked).toBe(2);
    await expect(revokeCertificate({ dir, target: { file: a.cert } })).rejects.toThrow(/already revoked/);
    await expect(revokeCertificate({ dir, target: { fingerprint: 'zz' } })).rejects.toThrow(/not a SHA-256 fingerprint/);
    const files = { ca: join(dir, 'ca.crt'), certKey: a.key, revocations: r2.file };
    await expect(loadIdentity({ ...files, cert: a.cert }, 'web-2')).rejects.toThrow(/revoked .*decommissioned/);
    await expect(loadIdentity({ ...files, cert: b.cert, certKey: b.key }, 'web-3')).rejects.toThrow(/revoked/);
    // A list altered by hand no longer verifies, and revoke refuses to build on it.
    const doc = JSON.parse(readFileSync(r2.file, 'utf8')) as { revoked: unknown[] };
    doc.revoked.pop();
    writeFileSync(join(root, 'altered.json'), JSON.stringify(doc));
    await expect(loadIdentity({ ...files, cert: b.cert, certKey: b.key, revocations: join(root, 'altered.json') }, 'web-3')).rejects.toThrow(/does not verify/);
    const inspected = await inspectFile(join(root, 'altered.json'), join(dir, 'ca.crt'));
    expect(inspected).toMatchObject({ kind: 'revocations', version: 2, verified: false });
  });

  it('inspect describes a certificate, a key and a list', async () => {
    const c = await inspectFile(join(root, 'web-1.crt'));
    expect(c).toMatchObject({ kind: 'certificate', ca: false, node: 'web-1', trustDomain: 'prod.example', services: ['billing', 'api-*'], keyType: 'ed25519', expired: false });
    expect(await inspectFile(join(root, 'web-1.key'))).toMatchObject({ kind: 'private-key', keyType: 'ed25519' });
    expect(await inspectFile(join(dir, 'revocations.json'), join(dir, 'ca.crt'))).toMatchObject({ kind: 'revocations', version: 2, verified: true });
    writeFileSync(join(root, 'junk.txt'), 'hello');
    await expect(inspectFile(join(root, 'junk.txt'))).rejects.toThrow(/neither a PEM certificate/);
  });

  it('reads lifetimes in days and the usual units', () => {
    expect(parseTtl('7d')).toBe(7 * 86_400_000);
    expect(parseTtl('12h')).toBe(12 * 3_600_000);
    expect(parseTtl('x')).toBeUndefined();
  });
});
