/**
 * The revocation list: which certificates a CA has withdrawn, signed by that CA and versioned.
 * Our own format, JSON, rather than an X.509 CRL: node:crypto can make and check an Ed25519
 * signature but cannot parse a CRL (that would need a DER reader of our own), a JSON list is
 * readable with `cat` and `hearsay ca inspect`, and the version number a list carries is what
 * lets a receiver refuse an older list (a rollback), which is how it will spread through the
 * mesh later (as a keyring operation does).
 *
 *   {
 *     "format": "hearsay-revocations/1",
 *     "issuer": "AB:CD:...",              the CA certificate's SHA-256 fingerprint
 *     "version": 3,                        raised by one on every change
 *     "issuedAt": "2026-12-03T10:00:00.000Z",
 *     "revoked": [{"serial": "55AC...", "fingerprint": "12:34:...", "revokedAt": "...", "reason": "..."}],
 *     "signature": "base64"                Ed25519 by the CA key over canonicalBytes()
 *   }
 *
 * An entry names a serial, a fingerprint, or both (revoking by file fills in both); a certificate
 * is revoked when either matches.
 *
 * Lists spread through the mesh (revocation-spread.ts): a node announces the version it holds and
 * peers fetch a newer list from any holder; the CA's signature is the authority, never the sender.
 */
import type { KeyObject } from 'node:crypto';
import { crypto } from '../builtins.js';


export const REVOCATIONS_FORMAT = 'hearsay-revocations/1';

export interface RevokedEntry {
  /** Uppercase hex, no leading zeros (as X509Certificate.serialNumber, normalized). */
  readonly serial?: string;
  /** Uppercase hex pairs joined by ":" (as X509Certificate.fingerprint256). */
  readonly fingerprint?: string;
  readonly revokedAt: string;
  readonly reason?: string;
}

export interface RevocationList {
  readonly format: typeof REVOCATIONS_FORMAT;
  readonly issuer: string;
  readonly version: number;
  readonly issuedAt: string;
  readonly revoked: readonly RevokedEntry[];
  readonly signature: string;
}

/** Why a list is refused: not a list at all, another CA's, or a signature that does not verify. */
export type RevocationListProblem = 'malformed' | 'wrong-ca' | 'bad-signature';

/** A revocation list that cannot be used; the message says what is wrong and what to do. */
export class RevocationListError extends Error {
  constructor(
    message: string,
    readonly problem: RevocationListProblem = 'malformed',
  ) {
    super(message);
  }
}

/** The largest list accepted (from a file, the API or a peer): about 5,000 entries. */
export const MAX_REVOCATIONS_BYTES = 1024 * 1024;

export function normalizeSerial(serial: string): string {
  const hex = serial.replace(/[:\s]/g, '').toUpperCase().replace(/^0+(?=.)/, '');
  return hex;
}

export function normalizeFingerprint(fp: string): string {
  const hex = fp.replace(/[:\s]/g, '').toUpperCase();
  return (hex.match(/.{2}/g) ?? []).join(':');
}

/** The bytes the signature covers: the format, then every field in a fixed order, as one JSON array. */
export function canonicalBytes(list: Omit<RevocationList, 'signature'>): Buffer {
  const entries = list.revoked.map((e) => [e.serial ?? null, e.fingerprint ?? null, e.revokedAt, e.reason ?? null]);
  return Buffer.from(JSON.stringify([REVOCATIONS_FORMAT, list.issuer, list.version, list.issuedAt, entries]), 'utf8');
}

export function signRevocations(body: Omit<RevocationList, 'signature' | 'format'>, caKey: KeyObject): RevocationList {
  const unsigned = { format: REVOCATIONS_FORMAT, ...body } as const;
  return { ...unsigned, signature: crypto().sign(null, canonicalBytes(unsigned), caKey).toString('base64') };
}

/**
 * Reads and checks a revocation list's text: its shape, that `caFingerprint` issued it and that
 * the CA's key signed it. Throws RevocationListError.
 */
export function parseRevocations(text: string, where: string, caPublicKey: KeyObject, caFingerprint: string): RevocationList {
  if (Buffer.byteLength(text, 'utf8') > MAX_REVOCATIONS_BYTES) {
    throw new RevocationListError(`${where} is larger than ${MAX_REVOCATIONS_BYTES} bytes: a hearsay revocation list holds at most about 5,000 entries`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new RevocationListError(`${where} is not JSON: give the file \`hearsay ca revoke\` writes`);
  }
  const d = doc as Partial<Record<keyof RevocationList, unknown>>;
  const bad = (what: string): never => {
    throw new RevocationListError(`${where} is not a hearsay revocation list (${what}): give the file \`hearsay ca revoke\` writes`);
  };
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) bad('not an object');
  if (d.format !== REVOCATIONS_FORMAT) bad(`"format" is not "${REVOCATIONS_FORMAT}"`);
  if (typeof d.issuer !== 'string') bad('"issuer" is missing');
  if (typeof d.version !== 'number' || !Number.isSafeInteger(d.version) || d.version < 1) bad('"version" is not a positive integer');
  if (typeof d.issuedAt !== 'string' || Number.isNaN(Date.parse(d.issuedAt))) bad('"issuedAt" is not a time');
  if (typeof d.signature !== 'string') bad('"signature" is missing');
  if (!Array.isArray(d.revoked)) bad('"revoked" is not an array');
  const revoked: RevokedEntry[] = [];
  for (const [i, e] of (d.revoked as unknown[]).entries()) {
    const x = e as Partial<Record<keyof RevokedEntry, unknown>>;
    if (typeof e !== 'object' || e === null) bad(`entry ${i} is not an object`);
    if (x.serial !== undefined && (typeof x.serial !== 'string' || !/^[0-9A-F]+$/.test(x.serial))) bad(`entry ${i}'s "serial" is not uppercase hex`);
    if (x.fingerprint !== undefined && (typeof x.fingerprint !== 'string' || !/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/.test(x.fingerprint))) bad(`entry ${i}'s "fingerprint" is not a SHA-256 fingerprint`);
    if (x.serial === undefined && x.fingerprint === undefined) bad(`entry ${i} names neither a serial nor a fingerprint`);
    if (typeof x.revokedAt !== 'string') bad(`entry ${i}'s "revokedAt" is missing`);
    if (x.reason !== undefined && typeof x.reason !== 'string') bad(`entry ${i}'s "reason" is not a string`);
    revoked.push({
      ...(x.serial === undefined ? {} : { serial: x.serial as string }),
      ...(x.fingerprint === undefined ? {} : { fingerprint: x.fingerprint as string }),
      revokedAt: x.revokedAt as string,
      ...(x.reason === undefined ? {} : { reason: x.reason as string }),
    });
  }
  const list: RevocationList = {
    format: REVOCATIONS_FORMAT,
    issuer: d.issuer as string,
    version: d.version as number,
    issuedAt: d.issuedAt as string,
    revoked,
    signature: d.signature as string,
  };
  if (normalizeFingerprint(list.issuer) !== normalizeFingerprint(caFingerprint)) {
    throw new RevocationListError(`${where} was issued by another CA (${list.issuer}, not ${caFingerprint}): give the list of the CA given with --ca`, 'wrong-ca');
  }
  if (!crypto().verify(null, canonicalBytes(list), caPublicKey, Buffer.from(list.signature, 'base64'))) {
    throw new RevocationListError(`${where}: its signature does not verify with the CA's key (altered, or signed by another key): write it again with \`hearsay ca revoke\``, 'bad-signature');
  }
  return list;
}

/** The list as `hearsay ca revoke` writes it (and the agent persists it). */
export function revocationsText(list: RevocationList): string {
  return `${JSON.stringify(list, null, 2)}\n`;
}

/** The entry that revokes a certificate with this serial and fingerprint, if any. */
export function revocationOf(list: RevocationList, serial: string, fingerprint: string): RevokedEntry | undefined {
  const s = normalizeSerial(serial);
  const f = normalizeFingerprint(fingerprint);
  return list.revoked.find((e) => (e.serial !== undefined && normalizeSerial(e.serial) === s) || (e.fingerprint !== undefined && normalizeFingerprint(e.fingerprint) === f));
}
