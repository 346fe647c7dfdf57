/** Certificates made in memory for the identity tests (identity/x509.ts), and openssl where a test needs it. */
import { execFileSync } from 'node:child_process';
import { X509Certificate, type KeyObject } from 'node:crypto';
import { freshSerial, generateEd25519, makeCertificate, toPem } from '../../src/identity/x509.js';
import { caUri, nodeUri, serviceUri } from '../../src/identity/spiffe.js';

export const DAY = 86_400_000;

export interface TestCa {
  readonly cert: X509Certificate;
  readonly pem: string;
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
  readonly trustDomain: string;
}

export function testCa(trustDomain = 'prod.example', now = Date.now()): TestCa {
  const { publicKey, privateKey } = generateEd25519();
  const der = makeCertificate({
    serial: freshSerial(),
    subjectCommonName: `CA ${trustDomain}`,
    issuerCommonName: `CA ${trustDomain}`,
    notBeforeMs: now - DAY,
    notAfterMs: now + 365 * DAY,
    publicKey,
    issuerPublicKey: publicKey,
    issuerPrivateKey: privateKey,
    ca: true,
    uris: [caUri(trustDomain)],
  });
  return { cert: new X509Certificate(der), pem: toPem(der, 'CERTIFICATE'), publicKey, privateKey, trustDomain };
}

export interface NodeCertOptions {
  readonly node?: string;
  readonly services?: readonly string[];
  readonly notBeforeMs?: number;
  readonly notAfterMs?: number;
  readonly uris?: readonly string[];
  readonly ca?: boolean;
}

export function testNodeCert(ca: TestCa, o: NodeCertOptions = {}, now = Date.now()): { cert: X509Certificate; pem: string; key: KeyObject } {
  const { publicKey, privateKey } = generateEd25519();
  const node = o.node ?? 'web-1';
  const der = makeCertificate({
    serial: freshSerial(),
    subjectCommonName: node,
    issuerCommonName: `CA ${ca.trustDomain}`,
    notBeforeMs: o.notBeforeMs ?? now - 60_000,
    notAfterMs: o.notAfterMs ?? now + 7 * DAY,
    publicKey,
    issuerPublicKey: ca.publicKey,
    issuerPrivateKey: ca.privateKey,
    ca: o.ca ?? false,
    uris: o.uris ?? [nodeUri(ca.trustDomain, node), ...(o.services ?? ['billing', 'api-*']).map((s) => serviceUri(ca.trustDomain, s))],
  });
  return { cert: new X509Certificate(der), pem: toPem(der, 'CERTIFICATE'), key: privateKey };
}

/** Debian's openssl CLI, or a reason to skip (a failure when CI=true: the CI image has it). */
export function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
    return true;
  } catch {
    if (process.env.CI === 'true') throw new Error('openssl is not installed, and CI=true: the identity tests need Debian\'s openssl (apt-get install openssl)');
    console.warn('skipping the openssl tests: no openssl on PATH (apt-get install openssl)');
    return false;
  }
}

/** The README's openssl commands: a CA for spiffe://TD and a node certificate naming `services`, in `dir` (ca.crt, ca.key, NODE.crt, NODE.key). */
export function opensslCaAndNode(dir: string, node: string, services: readonly string[], trustDomain = 'prod.example'): void {
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl('genpkey', '-algorithm', 'ed25519', '-out', 'ca.key');
  ssl('req', '-x509', '-new', '-key', 'ca.key', '-subj', `/CN=${trustDomain} CA`, '-days', '3650', '-out', 'ca.crt',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-addext', `subjectAltName=URI:spiffe://${trustDomain}`);
  ssl('genpkey', '-algorithm', 'ed25519', '-out', `${node}.key`);
  const uris = [`URI:spiffe://${trustDomain}/node/${node}`, ...services.map((s) => `URI:spiffe://${trustDomain}/service/${s}`)];
  ssl('req', '-x509', '-new', '-key', `${node}.key`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-subj', `/CN=${node}`, '-days', '7', '-out', `${node}.crt`,
    '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', `subjectAltName=${uris.join(',')}`);
}
