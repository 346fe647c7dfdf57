/**
 * The offline CA behind `hearsay ca`: a directory holding
 *
 *   ca.key            the CA's Ed25519 private key (PKCS#8 PEM, mode 0600)
 *   ca.crt            its self-signed certificate (subjectAltName spiffe://TRUST-DOMAIN)
 *   revocations.json  the signed, versioned revocation list (revocations.ts), once something is revoked
 *
 * and the operations on it: init, issue a node certificate, revoke one, and inspect any of these
 * files. Every user mistake is a CaError saying what to do. Files are written to a temporary name
 * and renamed, never overwritten in place; init and issue refuse to replace a file.
 */
import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { HearsayError } from '../errors.js';
import { parseDuration } from '../util/duration.js';
import { IdentityError, parseCertificate, parsePrivateKey, sanUris, validityMs } from './identity.js';
import { normalizeFingerprint, normalizeSerial, parseRevocations, RevocationListError, REVOCATIONS_FORMAT, signRevocations, type RevocationList, type RevokedEntry } from './revocations.js';
import { caUri, nodeUri, parseSpiffeUris, servicePatternProblem, serviceUri, trustDomainProblem } from './spiffe.js';
import { freshSerial, generateEd25519, makeCertificate, privateKeyPem, toPem } from './x509.js';

export const CA_FILES = Object.freeze({ key: 'ca.key', cert: 'ca.crt', revocations: 'revocations.json' });
export const DEFAULT_CA_DIR = './hearsay-ca';
export const DEFAULT_CA_TTL = '3650d';
export const DEFAULT_NODE_TTL = '30d';
/** Certificates start a minute in the past, so that a peer whose clock is a little behind accepts them. */
const BACKDATE_MS = 60_000;

/** A `hearsay ca` operation that cannot be done as asked; the message says what to do. */
export class CaError extends HearsayError {
  constructor(message: string) {
    super('HEARSAY_ERR_CA', message);
  }
}

/** A lifetime: "7d", "12h", "90m", "3650d" (days, or the units of util/duration: ms, s, m, h). */
export function parseTtl(text: string): number | undefined {
  const m = /^(\d+)d$/.exec(text.trim());
  if (m !== null) return Number(m[1]) * 86_400_000;
  return parseDuration(text);
}

function ttlOrThrow(text: string, flag: string): number {
  const ms = parseTtl(text);
  if (ms === undefined || ms < 60_000 || ms > 100 * 365 * 86_400_000) throw new CaError(`${flag} "${text}" is not a lifetime: give one from 1m to 100 years, e.g. 7d, 12h or 3650d`);
  return ms;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes `text` to `path` through a temporary file (fsynced, renamed); `exclusive` refuses an existing file. */
async function writeFileSafely(path: string, text: string, mode: number, exclusive: boolean): Promise<void> {
  if (exclusive && (await exists(path))) throw new CaError(`${path} already exists: refusing to overwrite it (move it away first, or pick another --dir/--out)`);
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, mode);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

function writeError(path: string, err: unknown): CaError {
  if (err instanceof CaError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  return new CaError(`cannot write ${path} (${code ?? String(err)}): check that the directory exists and is writable`);
}

export interface CaInitOptions {
  readonly dir: string;
  readonly trustDomain: string;
  readonly ttl: string;
  readonly commonName?: string;
  readonly nowMs?: number;
}

export interface CaInitResult {
  readonly dir: string;
  readonly key: string;
  readonly cert: string;
  readonly trustDomain: string;
  readonly fingerprint: string;
  readonly notAfter: string;
}

/** `hearsay ca init`: a new CA key and self-signed certificate in `dir` (created if missing); refuses to overwrite. */
export async function initCa(o: CaInitOptions): Promise<CaInitResult> {
  const tdProblem = trustDomainProblem(o.trustDomain);
  if (tdProblem !== undefined) throw new CaError(`--trust-domain: ${tdProblem}`);
  const ttlMs = ttlOrThrow(o.ttl, '--ttl');
  const keyPath = join(o.dir, CA_FILES.key);
  const certPath = join(o.dir, CA_FILES.cert);
  for (const p of [keyPath, certPath]) if (await exists(p)) throw new CaError(`${p} already exists: this directory holds a CA already; refusing to overwrite it (pick another --dir)`);
  try {
    await mkdir(o.dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw writeError(o.dir, err);
  }
  const now = o.nowMs ?? Date.now();
  const { publicKey, privateKey } = generateEd25519();
  const cn = o.commonName ?? `hearsay CA ${o.trustDomain}`;
  const der = makeCertificate({
    serial: freshSerial(),
    subjectCommonName: cn,
    issuerCommonName: cn,
    notBeforeMs: now - BACKDATE_MS,
    notAfterMs: now + ttlMs,
    publicKey,
    issuerPublicKey: publicKey,
    issuerPrivateKey: privateKey,
    ca: true,
    uris: [caUri(o.trustDomain)],
  });
  try {
    await writeFileSafely(keyPath, privateKeyPem(privateKey), 0o600, true);
    await writeFileSafely(certPath, toPem(der, 'CERTIFICATE'), 0o644, true);
  } catch (err) {
    throw writeError(keyPath, err);
  }
  const cert = new X509Certificate(der);
  return { dir: o.dir, key: keyPath, cert: certPath, trustDomain: o.trustDomain, fingerprint: cert.fingerprint256, notAfter: new Date(validityMs(cert.validTo)).toISOString() };
}

interface LoadedCa {
  readonly cert: X509Certificate;
  readonly key: KeyObject;
  readonly trustDomain: string;
}

async function loadCa(dir: string): Promise<LoadedCa> {
  const keyPath = join(dir, CA_FILES.key);
  const certPath = join(dir, CA_FILES.cert);
  let keyText: string;
  let certText: string;
  try {
    [keyText, certText] = await Promise.all([readFile(keyPath, 'utf8'), readFile(certPath, 'utf8')]);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CaError(
      code === 'ENOENT'
        ? `${dir} holds no CA (${CA_FILES.key} and ${CA_FILES.cert}): make one with \`hearsay ca init --dir ${dir}\`, or point --dir at the CA's directory`
        : `cannot read the CA in ${dir} (${code ?? String(err)}): check the permissions`,
    );
  }
  try {
    const cert = parseCertificate(certText, certPath);
    const key = parsePrivateKey(keyText, keyPath);
    if (!createPublicKey(key).export({ type: 'spki', format: 'der' }).equals(cert.publicKey.export({ type: 'spki', format: 'der' }))) {
      throw new CaError(`${keyPath} is not the key of ${certPath}: the CA directory is damaged; restore both from your backup`);
    }
    const td = parseSpiffeUris(sanUris(cert)).trustDomains[0];
    if (td === undefined) throw new CaError(`${certPath} names no trust domain (a subjectAltName URI spiffe://TRUST-DOMAIN): make the CA with \`hearsay ca init\`, or add -addext subjectAltName=URI:spiffe://TRUST-DOMAIN in openssl`);
    return { cert, key, trustDomain: td };
  } catch (err) {
    if (err instanceof IdentityError) throw new CaError(err.message);
    throw err;
  }
}

export interface IssueOptions {
  readonly dir: string;
  readonly node: string;
  /** Service names or patterns. */
  readonly services: readonly string[];
  readonly ttl: string;
  /** Where NAME.crt and NAME.key go. */
  readonly out: string;
  readonly nowMs?: number;
}

export interface IssueResult {
  readonly node: string;
  readonly cert: string;
  readonly key: string;
  readonly serial: string;
  readonly fingerprint: string;
  readonly services: readonly string[];
  readonly notAfter: string;
}

/** What is wrong with a node name for `hearsay ca issue` (it names the files too), or undefined. */
export function issueNodeProblem(node: string): string | undefined {
  if (node.trim() === '' || /[\s/\\]/.test(node) || node.startsWith('.') || Buffer.byteLength(node) > 256) {
    return `--node ${JSON.stringify(node)} is not a node name this command can write files for: use letters, digits, "-", "_" and inner "." (the agent's --name), e.g. --node web-1`;
  }
  return undefined;
}

/** `hearsay ca issue`: a certificate for `node`, allowed `services`, signed by the CA in `dir`; writes NODE.crt and NODE.key into `out`. */
export async function issueCertificate(o: IssueOptions): Promise<IssueResult> {
  const nodeProblem = issueNodeProblem(o.node);
  if (nodeProblem !== undefined) throw new CaError(nodeProblem);
  const problems = o.services.map(servicePatternProblem).filter((p): p is string => p !== undefined);
  if (problems.length > 0) throw new CaError(`--services: ${problems.join('; ')}`);
  const ttlMs = ttlOrThrow(o.ttl, '--ttl');
  const ca = await loadCa(o.dir);
  const now = o.nowMs ?? Date.now();
  const caNotAfter = validityMs(ca.cert.validTo);
  if (now + ttlMs > caNotAfter) throw new CaError(`--ttl ${o.ttl} outlives the CA, which expires at ${new Date(caNotAfter).toISOString()}: give a shorter --ttl`);
  const certPath = join(o.out, `${o.node}.crt`);
  const keyPath = join(o.out, `${o.node}.key`);
  for (const p of [certPath, keyPath]) if (await exists(p)) throw new CaError(`${p} already exists: refusing to overwrite it (move the old files away, or give another --out)`);
  const { publicKey, privateKey } = generateEd25519();
  const der = makeCertificate({
    serial: freshSerial(),
    subjectCommonName: o.node,
    issuerCommonName: ca.cert.subject.split('\n').find((l) => l.startsWith('CN='))?.slice(3) ?? 'hearsay CA',
    notBeforeMs: now - BACKDATE_MS,
    notAfterMs: now + ttlMs,
    publicKey,
    issuerPublicKey: ca.cert.publicKey,
    issuerPrivateKey: ca.key,
    ca: false,
    uris: [nodeUri(ca.trustDomain, o.node), ...[...new Set(o.services)].map((s) => serviceUri(ca.trustDomain, s))],
  });
  try {
    await mkdir(o.out, { recursive: true });
    await writeFileSafely(keyPath, privateKeyPem(privateKey), 0o600, true);
    await writeFileSafely(certPath, toPem(der, 'CERTIFICATE'), 0o644, true);
  } catch (err) {
    throw writeError(certPath, err);
  }
  const cert = new X509Certificate(der);
  return { node: o.node, cert: certPath, key: keyPath, serial: cert.serialNumber, fingerprint: cert.fingerprint256, services: [...new Set(o.services)], notAfter: new Date(validityMs(cert.validTo)).toISOString() };
}

export type RevokeTarget = { readonly file: string } | { readonly serial: string } | { readonly fingerprint: string };

export interface RevokeOptions {
  readonly dir: string;
  readonly target: RevokeTarget;
  readonly reason?: string;
  readonly nowMs?: number;
}

export interface RevokeResult {
  readonly file: string;
  readonly version: number;
  readonly entry: RevokedEntry;
  readonly revoked: number;
}

async function currentList(dir: string, ca: LoadedCa): Promise<RevocationList | undefined> {
  const path = join(dir, CA_FILES.revocations);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CaError(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)}): check the permissions`);
  }
  try {
    return parseRevocations(text, path, ca.cert.publicKey, ca.cert.fingerprint256);
  } catch (err) {
    if (err instanceof RevocationListError) throw new CaError(`${err.message} (refusing to build on a list that does not verify: restore it from your backup)`);
    throw err;
  }
}

/** `hearsay ca revoke`: adds a certificate to the CA's revocation list (a new version, signed). */
export async function revokeCertificate(o: RevokeOptions): Promise<RevokeResult> {
  const ca = await loadCa(o.dir);
  let entry: { serial?: string; fingerprint?: string };
  if ('file' in o.target) {
    let text: string;
    try {
      text = await readFile(o.target.file, 'utf8');
    } catch (err) {
      throw new CaError(`cannot read ${o.target.file} (${(err as NodeJS.ErrnoException).code ?? String(err)}): give the certificate file to revoke`);
    }
    let cert: X509Certificate;
    try {
      cert = parseCertificate(text, o.target.file);
    } catch (err) {
      throw new CaError((err as Error).message);
    }
    if (!cert.checkIssued(ca.cert) || !cert.verify(ca.cert.publicKey)) throw new CaError(`${o.target.file} was not issued by the CA in ${o.dir}: revoke it with the CA that issued it`);
    entry = { serial: normalizeSerial(cert.serialNumber), fingerprint: cert.fingerprint256 };
  } else if ('serial' in o.target) {
    const s = normalizeSerial(o.target.serial);
    if (!/^[0-9A-F]{1,40}$/.test(s)) throw new CaError(`--serial "${o.target.serial}" is not a serial number: give it in hex as \`hearsay ca inspect\` or openssl x509 -serial shows it`);
    entry = { serial: s };
  } else {
    const f = normalizeFingerprint(o.target.fingerprint);
    if (!/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/.test(f)) throw new CaError(`--fingerprint "${o.target.fingerprint}" is not a SHA-256 fingerprint: give 64 hex digits (colons allowed), as \`hearsay ca inspect\` shows it`);
    entry = { fingerprint: f };
  }
  const now = o.nowMs ?? Date.now();
  const prev = await currentList(o.dir, ca);
  const already = prev?.revoked.find((e) => (entry.serial !== undefined && e.serial === entry.serial) || (entry.fingerprint !== undefined && e.fingerprint === entry.fingerprint));
  if (already !== undefined) throw new CaError(`that certificate is already revoked (since ${already.revokedAt}, list version ${prev?.version ?? 0}): nothing to do`);
  const full: RevokedEntry = { ...entry, revokedAt: new Date(now).toISOString(), ...(o.reason === undefined || o.reason === '' ? {} : { reason: o.reason }) };
  const list = signRevocations({ issuer: ca.cert.fingerprint256, version: (prev?.version ?? 0) + 1, issuedAt: new Date(now).toISOString(), revoked: [...(prev?.revoked ?? []), full] }, ca.key);
  const path = join(o.dir, CA_FILES.revocations);
  try {
    await writeFileSafely(path, `${JSON.stringify(list, null, 2)}\n`, 0o644, false);
  } catch (err) {
    throw writeError(path, err);
  }
  return { file: path, version: list.version, entry: full, revoked: list.revoked.length };
}

/** What `hearsay ca inspect` says about a file. */
export type Inspection =
  | {
      readonly kind: 'certificate';
      readonly subject: string;
      readonly issuer: string;
      readonly ca: boolean;
      readonly serial: string;
      readonly fingerprint: string;
      readonly keyType: string;
      readonly notBefore: string;
      readonly notAfter: string;
      readonly expired: boolean;
      readonly uris: readonly string[];
      readonly trustDomain?: string;
      readonly node?: string;
      readonly services: readonly string[];
    }
  | { readonly kind: 'private-key'; readonly keyType: string; readonly publicKey: string }
  | { readonly kind: 'revocations'; readonly issuer: string; readonly version: number; readonly issuedAt: string; readonly revoked: readonly RevokedEntry[]; readonly verified: boolean | 'no --ca given' };

/** `hearsay ca inspect FILE`: a certificate, a private key or a revocation list (verified against `caFile` when given). */
export async function inspectFile(file: string, caFile?: string, nowMs: number = Date.now()): Promise<Inspection> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CaError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}): give the path of a certificate, key or revocation list`);
  }
  if (text.includes('-----BEGIN CERTIFICATE-----')) {
    const cert = parseCertificate(text, file);
    const claims = parseSpiffeUris(sanUris(cert));
    const notAfterMs = validityMs(cert.validTo);
    return {
      kind: 'certificate',
      subject: cert.subject.replace(/\n/g, ', '),
      issuer: cert.issuer.replace(/\n/g, ', '),
      ca: cert.ca,
      serial: cert.serialNumber,
      fingerprint: cert.fingerprint256,
      keyType: cert.publicKey.asymmetricKeyType ?? 'unknown',
      notBefore: new Date(validityMs(cert.validFrom)).toISOString(),
      notAfter: new Date(notAfterMs).toISOString(),
      expired: nowMs >= notAfterMs,
      uris: sanUris(cert),
      ...(claims.trustDomains[0] === undefined ? {} : { trustDomain: claims.trustDomains[0] }),
      ...(claims.nodes[0] === undefined ? {} : { node: claims.nodes[0] }),
      services: claims.services,
    };
  }
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    let key: KeyObject;
    try {
      key = parsePrivateKey(text, file);
    } catch (err) {
      throw new CaError((err as Error).message);
    }
    const raw = createPublicKey(key).export({ type: 'spki', format: 'der' });
    return { kind: 'private-key', keyType: key.asymmetricKeyType ?? 'unknown', publicKey: raw.subarray(raw.length - 32).toString('hex') };
  }
  let doc: { format?: unknown } | undefined;
  try {
    doc = JSON.parse(text) as { format?: unknown };
  } catch {
    doc = undefined;
  }
  if (doc?.format !== REVOCATIONS_FORMAT) throw new CaError(`${file} is neither a PEM certificate, a PEM private key nor a hearsay revocation list`);
  const d = doc as unknown as RevocationList;
  let verified: boolean | 'no --ca given' = 'no --ca given';
  if (caFile !== undefined) {
    let caText: string;
    try {
      caText = await readFile(caFile, 'utf8');
    } catch (err) {
      throw new CaError(`cannot read --ca ${caFile} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    const ca = parseCertificate(caText, caFile);
    try {
      parseRevocations(text, file, ca.publicKey, ca.fingerprint256);
      verified = true;
    } catch (err) {
      if (!(err instanceof RevocationListError)) throw err;
      verified = false;
    }
  }
  return { kind: 'revocations', issuer: String(d.issuer), version: Number(d.version), issuedAt: String(d.issuedAt), revoked: Array.isArray(d.revoked) ? d.revoked : [], verified };
}
