/**
 * A node's identity: its certificate, checked against the CA (and the revocation list, if any)
 * before the agent runs with it. `checkIdentity` is the validator (every refusal an IdentityError
 * naming the problem and what to do); `loadIdentity` reads the PEM files and calls it.
 *
 * What is checked: the CA certificate is an Ed25519 CA; the node certificate is Ed25519, not a CA,
 * issued and signed by that CA, within its validity, carries exactly one node URI (the node name,
 * which must equal --name when one is given) and only URIs of the CA's trust domain; the private
 * key is the certificate's; and no entry of the revocation list names it.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import { HearsayError } from '../errors.js';
import { parseRevocations, revocationOf, RevocationListError, type RevocationList } from './revocations.js';
import { parseSpiffeUris } from './spiffe.js';
import { crypto, fsp } from '../builtins.js';



export const IDENTITY_PROBLEMS = [
  'unreadable',
  'not-ed25519',
  'not-a-ca',
  'is-a-ca',
  'wrong-ca',
  'expired',
  'not-yet-valid',
  'no-node',
  'wrong-name',
  'wrong-trust-domain',
  'key-mismatch',
  'revoked',
  'revocations',
  'services-in-use',
] as const;
export type IdentityProblem = (typeof IDENTITY_PROBLEMS)[number];

/** A certificate, key or revocation list the agent cannot run with. */
export class IdentityError extends HearsayError {
  readonly problem: IdentityProblem;
  constructor(problem: IdentityProblem, message: string) {
    super('HEARSAY_ERR_INVALID_IDENTITY', message);
    this.problem = problem;
  }
}

/** The identity a validated certificate gives this node. */
export interface NodeIdentity {
  readonly node: string;
  readonly trustDomain: string;
  /** Service names or patterns (`api-*`) the node may register. */
  readonly services: readonly string[];
  /** SHA-256 fingerprint of the certificate (hex pairs joined by ":"). */
  readonly fingerprint: string;
  readonly serial: string;
  /** The CA certificate's SHA-256 fingerprint. */
  readonly issuer: string;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
  /** The revocation list checked, if any. */
  readonly revocationsVersion?: number;
  readonly certificate: X509Certificate;
  /** The CA it was checked against (peers' certificates are checked against it too). */
  readonly caCertificate?: X509Certificate;
  /** The revocation list it was checked against, if any. */
  readonly revocations?: RevocationList;
  readonly privateKey: KeyObject;
}

export interface IdentityMaterial {
  readonly ca: X509Certificate;
  readonly cert: X509Certificate;
  readonly key: KeyObject;
  readonly revocations?: RevocationList;
}

/** The URIs of a certificate's subjectAltName (Node's text form: `URI:a, URI:b, DNS:c`). */
export function sanUris(cert: X509Certificate): string[] {
  const text = cert.subjectAltName;
  if (text === undefined || text === '') return [];
  return text
    .split(/,\s*/)
    .filter((e) => e.startsWith('URI:'))
    .map((e) => e.slice(4));
}

/** An X509Certificate's validity bound in ms (Node 20 gives it as text, e.g. "Dec  3 10:47:24 2026 GMT"). */
export function validityMs(text: string): number {
  return Date.parse(text);
}

const fmt = (ms: number): string => new Date(ms).toISOString();

/** The trust domain a CA certificate names (its bare spiffe:// URI), or undefined when it names none. */
export function caTrustDomain(ca: X509Certificate): string | undefined {
  return parseSpiffeUris(sanUris(ca)).trustDomains[0];
}

/**
 * Checks `material` for the node `name` (undefined: the certificate's node name is taken) at
 * `nowMs`; throws IdentityError.
 */
export function checkIdentity(material: IdentityMaterial, name: string | undefined, nowMs: number, files: { readonly ca: string; readonly cert: string } = { ca: 'the CA certificate', cert: 'the certificate' }): NodeIdentity {
  const { ca, cert, key } = material;
  const claims = checkCertificate(ca, cert, nowMs, material.revocations, files);
  const node = claims.node;
  if (name !== undefined && name !== node) {
    throw new IdentityError('wrong-name', `${files.cert} is for the node "${node}", not "${name}": start this node with --name ${node}, or issue a certificate for ${name} (\`hearsay ca issue --node ${name}\`)`);
  }
  const certSpki = cert.publicKey.export({ type: 'spki', format: 'der' });
  const keySpki = crypto().createPublicKey(key).export({ type: 'spki', format: 'der' });
  if (key.type !== 'private' || !certSpki.equals(keySpki)) {
    throw new IdentityError('key-mismatch', `the key given with --cert-key is not the key of ${files.cert}: give the .key file written with it`);
  }
  return {
    ...claims,
    fingerprint: cert.fingerprint256,
    serial: cert.serialNumber,
    issuer: ca.fingerprint256,
    ...(material.revocations === undefined ? {} : { revocationsVersion: material.revocations.version, revocations: material.revocations }),
    certificate: cert,
    caCertificate: ca,
    privateKey: key,
  };
}

/** What a certificate that `checkCertificate` accepted says. */
export interface CertificateClaims {
  readonly node: string;
  readonly trustDomain: string;
  readonly services: readonly string[];
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
}

/**
 * The checks of a node certificate that need no key: the CA's (Ed25519, a CA), the certificate's
 * (Ed25519, not a CA, issued and signed by it, valid at `nowMs`, exactly one node URI, the CA's
 * trust domain) and the revocation list's. Used for this node's own certificate (checkIdentity)
 * and for every certificate a peer presents (identity/authenticator.ts). Throws IdentityError.
 */
export function checkCertificate(ca: X509Certificate, cert: X509Certificate, nowMs: number, revocations: RevocationList | undefined, files: { readonly ca: string; readonly cert: string } = { ca: 'the CA certificate', cert: 'the certificate' }): CertificateClaims {
  if (ca.publicKey.asymmetricKeyType !== 'ed25519') throw new IdentityError('not-ed25519', `${files.ca} has a ${ca.publicKey.asymmetricKeyType ?? 'unknown'} key: hearsay CAs use Ed25519 (\`hearsay ca init\`, or openssl genpkey -algorithm ed25519)`);
  if (!ca.ca) throw new IdentityError('not-a-ca', `${files.ca} is not a CA certificate (basicConstraints CA:FALSE or missing): give the CA's certificate (ca.crt from \`hearsay ca init\`)`);
  if (cert.publicKey.asymmetricKeyType !== 'ed25519') throw new IdentityError('not-ed25519', `${files.cert} has a ${cert.publicKey.asymmetricKeyType ?? 'unknown'} key: issue node certificates for Ed25519 keys`);
  if (cert.ca) throw new IdentityError('is-a-ca', `${files.cert} is a CA certificate: give the node's certificate (NAME.crt from \`hearsay ca issue\`)`);
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    throw new IdentityError('wrong-ca', `${files.cert} (issuer "${cert.issuer.replace(/\n/g, ', ')}") was not issued by the CA in ${files.ca}: issue it with that CA, or give the CA that issued it with --ca`);
  }
  const notBeforeMs = validityMs(cert.validFrom);
  const notAfterMs = validityMs(cert.validTo);
  if (nowMs < notBeforeMs) throw new IdentityError('not-yet-valid', `${files.cert} is not valid before ${fmt(notBeforeMs)} (now ${fmt(nowMs)}): check this machine's clock, or issue one valid now`);
  if (nowMs >= notAfterMs) throw new IdentityError('expired', `${files.cert} expired at ${fmt(notAfterMs)}: issue a new one (\`hearsay ca issue\`) and reload the agent (SIGHUP)`);
  const claims = parseSpiffeUris(sanUris(cert));
  const caDomain = caTrustDomain(ca);
  if (claims.nodes.length !== 1) {
    throw new IdentityError('no-node', `${files.cert} names ${claims.nodes.length === 0 ? 'no node' : `${claims.nodes.length} nodes`}: a node certificate carries exactly one subjectAltName URI spiffe://TRUST-DOMAIN/node/NAME`);
  }
  const node = claims.nodes[0] as string;
  const domains = claims.trustDomains;
  if (domains.length !== 1 || (caDomain !== undefined && domains[0] !== caDomain)) {
    throw new IdentityError('wrong-trust-domain', `${files.cert} names the trust domain${domains.length === 1 ? '' : 's'} ${domains.join(', ')}${caDomain === undefined ? '' : `, but the CA is spiffe://${caDomain}`}: issue it with URIs of ${caDomain === undefined ? 'one trust domain' : `spiffe://${caDomain}`}`);
  }
  const revoked = revocations === undefined ? undefined : revocationOf(revocations, cert.serialNumber, cert.fingerprint256);
  if (revoked !== undefined) {
    throw new IdentityError('revoked', `${files.cert} (serial ${cert.serialNumber}) was revoked at ${revoked.revokedAt}${revoked.reason === undefined ? '' : ` (${revoked.reason})`}: issue a new certificate`);
  }
  return { node, trustDomain: domains[0] as string, services: claims.services, notBeforeMs, notAfterMs };
}

/** The files an identity is read from. */
export interface IdentityFiles {
  readonly ca: string;
  readonly cert: string;
  readonly certKey: string;
  readonly revocations?: string;
}

async function readText(path: string, what: string, flag: string): Promise<string> {
  try {
    return await fsp().readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable (permission denied)' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code ?? String(err)})`;
    throw new IdentityError('unreadable', `${flag} ${path}: the ${what} ${why}: give the path of a PEM file`);
  }
}

export function parseCertificate(pem: string, where: string): X509Certificate {
  try {
    return new (crypto().X509Certificate)(pem);
  } catch {
    throw new IdentityError('unreadable', `${where} is not a PEM certificate ("-----BEGIN CERTIFICATE-----"): give a .crt file from \`hearsay ca\` or openssl`);
  }
}

export function parsePrivateKey(pem: string, where: string): KeyObject {
  try {
    return crypto().createPrivateKey(pem);
  } catch {
    throw new IdentityError('unreadable', `${where} is not a PEM private key ("-----BEGIN PRIVATE KEY-----"): give the .key file written with the certificate`);
  }
}

/** Reads the files and checks them (checkIdentity); throws IdentityError. */
export async function loadIdentity(files: IdentityFiles, name: string | undefined, nowMs: number = Date.now()): Promise<NodeIdentity> {
  const [caText, certText, keyText, revText] = await Promise.all([
    readText(files.ca, 'CA certificate', '--ca'),
    readText(files.cert, 'certificate', '--cert'),
    readText(files.certKey, 'private key', '--cert-key'),
    files.revocations === undefined ? undefined : readText(files.revocations, 'revocation list', '--revocations'),
  ]);
  const ca = parseCertificate(caText, `--ca ${files.ca}`);
  const cert = parseCertificate(certText, `--cert ${files.cert}`);
  const key = parsePrivateKey(keyText, `--cert-key ${files.certKey}`);
  let revocations: RevocationList | undefined;
  if (revText !== undefined) {
    try {
      revocations = parseRevocations(revText, `--revocations ${files.revocations as string}`, ca.publicKey, ca.fingerprint256);
    } catch (err) {
      if (err instanceof RevocationListError) throw new IdentityError('revocations', err.message);
      throw err;
    }
  }
  return checkIdentity({ ca, cert, key, ...(revocations === undefined ? {} : { revocations }) }, name, nowMs, { ca: `--ca ${files.ca}`, cert: `--cert ${files.cert}` });
}

/** The identity as /v1/agent/self shows it (no key). */
export function identitySummary(id: NodeIdentity, nowMs: number): Record<string, unknown> {
  return {
    node: id.node,
    trustDomain: id.trustDomain,
    services: [...id.services],
    fingerprint: id.fingerprint,
    serial: id.serial,
    issuer: id.issuer,
    notBefore: fmt(id.notBeforeMs),
    notAfter: fmt(id.notAfterMs),
    expiresInSeconds: Math.max(0, Math.floor((id.notAfterMs - nowMs) / 1000)),
    ...(id.revocationsVersion === undefined ? {} : { revocationsVersion: id.revocationsVersion }),
  };
}
