import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkIdentity, IdentityError, loadIdentity, type IdentityProblem } from '../../src/identity/identity.js';
import { signRevocations } from '../../src/identity/revocations.js';
import { generateEd25519, privateKeyPem } from '../../src/identity/x509.js';
import { DAY, opensslAvailable, opensslCaAndNode, testCa, testNodeCert } from './support.js';

const now = Date.now();

function refusal(fn: () => unknown): { problem: IdentityProblem; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof IdentityError) return { problem: err.problem, message: err.message };
    throw err;
  }
  throw new Error('expected an IdentityError');
}

describe('checkIdentity', () => {
  const ca = testCa();

  it('accepts a certificate of the CA for the node, with its services, fingerprint and expiry', () => {
    const n = testNodeCert(ca, { node: 'web-1', services: ['billing', 'api-*'] }, now);
    const id = checkIdentity({ ca: ca.cert, cert: n.cert, key: n.key }, 'web-1', now);
    expect(id.node).toBe('web-1');
    expect(id.trustDomain).toBe('prod.example');
    expect(id.services).toEqual(['billing', 'api-*']);
    expect(id.fingerprint).toBe(n.cert.fingerprint256);
    expect(id.issuer).toBe(ca.cert.fingerprint256);
    expect(Math.abs(id.notAfterMs - (now + 7 * DAY))).toBeLessThan(1000);
  });

  it('takes the node name from the certificate when none is given', () => {
    const n = testNodeCert(ca, { node: 'db-2' }, now);
    expect(checkIdentity({ ca: ca.cert, cert: n.cert, key: n.key }, undefined, now).node).toBe('db-2');
  });

  it('percent-decodes a node name with characters SPIFFE does not allow', () => {
    const n = testNodeCert(ca, { node: 'web:1@eu' }, now);
    expect(checkIdentity({ ca: ca.cert, cert: n.cert, key: n.key }, 'web:1@eu', now).node).toBe('web:1@eu');
  });

  it.each<[string, () => unknown, IdentityProblem, RegExp]>([
    ['another CA', () => {
      const other = testCa();
      const n = testNodeCert(other, {}, now);
      return checkIdentity({ ca: ca.cert, cert: n.cert, key: n.key }, 'web-1', now);
    }, 'wrong-ca', /not issued by the CA/],
    ['an expired certificate', () => {
      const n = testNodeCert(ca, { notBeforeMs: now - 10 * DAY, notAfterMs: now - DAY }, now);
      return checkIdentity({ ca: ca.cert, cert: n.cert, key: n.key }, 'web-1', now);
    }, 'expired', /expired at .*issue a new one/],
    ['a certificate not yet valid', () => {
      const n = testNodeCert(ca, { notBeforeMs: now + DAY, notAfterMs: now + 10 * DAY }, now);
      return checkIdentity({ ca: ca.cert, cert: n.cert, key: n.key }, 'web-1', now);
    }, 'not-yet-valid', /not valid before .*clock/],
    ['a certificate for another name', () => {
      const n = testNodeCert(ca, { node: 'web-2' }, now);
      return checkIdentity({ ca: ca.cert, cert: n.cert, key: n.key }, 'web-1', now);
    }, 'wrong-name', /for the node "web-2", not "web-1": start this node with --name web-2/],
    ['a key that is not the certificate\'s', () => {
      const n = testNodeCert(ca, {}, now);
      return checkIdentity({ ca: ca.cert, cert: n.cert, key: generateEd25519().privateKey }, 'web-1', now);
    }, 'key-mismatch', /not the key of/],
    ['a certificate without a node URI', () => {
      const n = testNodeCert(ca, { uris: ['spiffe://prod.example/service/billing'] }, now);
      return checkIdentity({ ca: ca.cert, cert: n.cert, key: n.key }, 'web-1', now);
    }, 'no-node', /names no node/],
    ['a certificate naming two nodes', () => {
      const n = testNodeCert(ca, { uris: ['spiffe://prod.example/node/a', 'spiffe://prod.example/node/b'] }, now);
      return checkIdentity({ ca: ca.cert, cert: n.cert, key: n.key }, undefined, now);
    }, 'no-node', /names 2 nodes/],
    ['a certificate of another trust domain', () => {
      const n = testNodeCert(ca, { uris: ['spiffe://other.example/node/web-1'] }, now);
      return checkIdentity({ ca: ca.cert, cert: n.cert, key: n.key }, 'web-1', now);
    }, 'wrong-trust-domain', /other\.example.*spiffe:\/\/prod\.example/],
    ['a CA certificate given as the node\'s', () => {
      const n = testNodeCert(ca, { ca: true }, now);
      return checkIdentity({ ca: ca.cert, cert: n.cert, key: n.key }, 'web-1', now);
    }, 'is-a-ca', /is a CA certificate/],
    ['a node certificate given as the CA', () => {
      const n = testNodeCert(ca, {}, now);
      return checkIdentity({ ca: n.cert, cert: n.cert, key: n.key }, 'web-1', now);
    }, 'not-a-ca', /not a CA certificate/],
    ['a revoked certificate (by serial)', () => {
      const n = testNodeCert(ca, {}, now);
      const revocations = signRevocations({ issuer: ca.cert.fingerprint256, version: 1, issuedAt: new Date(now).toISOString(), revoked: [{ serial: n.cert.serialNumber, revokedAt: new Date(now).toISOString(), reason: 'key lost' }] }, ca.privateKey);
      return checkIdentity({ ca: ca.cert, cert: n.cert, key: n.key, revocations }, 'web-1', now);
    }, 'revoked', /revoked at .*key lost/],
    ['a revoked certificate (by fingerprint)', () => {
      const n = testNodeCert(ca, {}, now);
      const revocations = signRevocations({ issuer: ca.cert.fingerprint256, version: 2, issuedAt: new Date(now).toISOString(), revoked: [{ fingerprint: n.cert.fingerprint256, revokedAt: new Date(now).toISOString() }] }, ca.privateKey);
      return checkIdentity({ ca: ca.cert, cert: n.cert, key: n.key, revocations }, 'web-1', now);
    }, 'revoked', /revoked/],
  ])('refuses %s, saying what to do', (_what, fn, problem, message) => {
    const r = refusal(fn);
    expect(r.problem).toBe(problem);
    expect(r.message).toMatch(message);
  });
});

describe('loadIdentity (files)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearsay-identity-'));
  const ca = testCa();
  const n = testNodeCert(ca, { node: 'web-1' });
  writeFileSync(join(dir, 'ca.crt'), ca.pem);
  writeFileSync(join(dir, 'web-1.crt'), n.pem);
  writeFileSync(join(dir, 'web-1.key'), privateKeyPem(n.key));
  const files = { ca: join(dir, 'ca.crt'), cert: join(dir, 'web-1.crt'), certKey: join(dir, 'web-1.key') };

  it('loads PEM files', async () => {
    expect((await loadIdentity(files, 'web-1')).node).toBe('web-1');
  });

  it('names a missing or unreadable file and the flag it came from', async () => {
    await expect(loadIdentity({ ...files, cert: join(dir, 'nope.crt') }, 'web-1')).rejects.toThrow(/--cert .*nope\.crt: the certificate does not exist/);
    await expect(loadIdentity({ ...files, certKey: files.cert }, 'web-1')).rejects.toThrow(/--cert-key .* is not a PEM private key/);
    await expect(loadIdentity({ ...files, ca: files.certKey }, 'web-1')).rejects.toThrow(/--ca .* is not a PEM certificate/);
  });

  it('refuses a revocation list that does not verify, or of another CA', async () => {
    const list = signRevocations({ issuer: ca.cert.fingerprint256, version: 1, issuedAt: new Date().toISOString(), revoked: [] }, ca.privateKey);
    writeFileSync(join(dir, 'rev.json'), JSON.stringify({ ...list, version: 2 }));
    await expect(loadIdentity({ ...files, revocations: join(dir, 'rev.json') }, 'web-1')).rejects.toThrow(/signature does not verify/);
    const other = testCa();
    writeFileSync(join(dir, 'rev2.json'), JSON.stringify(signRevocations({ issuer: other.cert.fingerprint256, version: 1, issuedAt: new Date().toISOString(), revoked: [] }, other.privateKey)));
    await expect(loadIdentity({ ...files, revocations: join(dir, 'rev2.json') }, 'web-1')).rejects.toThrow(/issued by another CA/);
    writeFileSync(join(dir, 'rev3.json'), JSON.stringify(list));
    expect((await loadIdentity({ ...files, revocations: join(dir, 'rev3.json') }, 'web-1')).revocationsVersion).toBe(1);
  });
});

describe.runIf(opensslAvailable())('certificates and openssl', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearsay-openssl-'));
  const ssl = (...args: string[]): string => execFileSync('openssl', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

  it('openssl reads ours: asn1parse walks the DER, x509 -text shows the extensions, verify accepts the node against the CA', () => {
    const ca = testCa('mesh.example');
    const n = testNodeCert(ca, { node: 'web-1', services: ['billing'] });
    writeFileSync(join(dir, 'ours-ca.crt'), ca.pem);
    writeFileSync(join(dir, 'ours-web-1.crt'), n.pem);
    const parsed = ssl('asn1parse', '-in', 'ours-web-1.crt');
    expect(parsed).toMatch(/prim: OBJECT\s+:ED25519/);
    expect(parsed).toMatch(/prim: UTCTIME/);
    expect(parsed).toMatch(/X509v3 Subject Alternative Name/);
    const text = ssl('x509', '-in', 'ours-web-1.crt', '-noout', '-text');
    expect(text).toMatch(/Version: 3 \(0x2\)/);
    expect(text).toMatch(/CA:FALSE/);
    expect(text).toMatch(/Digital Signature/);
    expect(text).toMatch(/URI:spiffe:\/\/mesh\.example\/node\/web-1, URI:spiffe:\/\/mesh\.example\/service\/billing/);
    expect(ssl('x509', '-in', 'ours-ca.crt', '-noout', '-text')).toMatch(/CA:TRUE, pathlen:0[\s\S]*Certificate Sign, CRL Sign/);
    expect(ssl('verify', '-CAfile', 'ours-ca.crt', 'ours-web-1.crt')).toMatch(/OK/);
  });

  it('accepts a CA and a node certificate made by plain openssl commands (as the README shows)', async () => {
    opensslCaAndNode(dir, 'web-1', ['billing', 'api-*']);
    const id = await loadIdentity({ ca: join(dir, 'ca.crt'), cert: join(dir, 'web-1.crt'), certKey: join(dir, 'web-1.key') }, 'web-1');
    expect(id.node).toBe('web-1');
    expect(id.services).toEqual(['billing', 'api-*']);
    // ...and refuses one of another openssl CA, and one for another name.
    ssl('genpkey', '-algorithm', 'ed25519', '-out', 'ca2.key');
    ssl('req', '-x509', '-new', '-key', 'ca2.key', '-subj', '/CN=other CA', '-days', '3650', '-out', 'ca2.crt', '-addext', 'basicConstraints=critical,CA:TRUE');
    await expect(loadIdentity({ ca: join(dir, 'ca2.crt'), cert: join(dir, 'web-1.crt'), certKey: join(dir, 'web-1.key') }, 'web-1')).rejects.toThrow(/not issued by the CA/);
    await expect(loadIdentity({ ca: join(dir, 'ca.crt'), cert: join(dir, 'web-1.crt'), certKey: join(dir, 'web-1.key') }, 'web-2')).rejects.toThrow(/for the node "web-1", not "web-2"/);
  });
});

describe('revocation entries', () => {
  it('match a serial however it is written (leading zeros, case, colons)', async () => {
    const { revocationOf } = await import('../../src/identity/revocations.js');
    const list = { format: 'hearsay-revocations/1', issuer: '', version: 1, issuedAt: '', signature: '', revoked: [{ serial: '0F1A', revokedAt: 'x' }] } as const;
    expect(revocationOf(list, 'f1a', '00')).toBeDefined();
    expect(revocationOf(list, '0f:1a', '00')).toBeDefined();
    expect(revocationOf(list, '1F1A', '00')).toBeUndefined();
  });
});
