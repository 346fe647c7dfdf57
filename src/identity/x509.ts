/**
 * Making X.509 v3 certificates with Ed25519 keys (RFC 5280, RFC 8410): the TBSCertificate in DER
 * (util/der.ts), signed with node:crypto. Node parses certificates (crypto.X509Certificate) but
 * cannot create them; @peculiar/x509 can, but brings a WebCrypto shim, reflect-metadata and a
 * dozen ASN.1 schema packages for what is about a hundred lines here.
 *
 * A certificate made here is an ordinary one: `openssl x509 -text` shows it, and `openssl verify`
 * accepts a node certificate against its CA.
 */
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { bitString, boolean, explicit, contextTag, integer, namedBits, octetString, oid, sequence, setOf, utf8String, ascii, x509Time } from '../util/der.js';

export const OID = Object.freeze({
  ed25519: '1.3.101.112',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
});

/** keyUsage bit numbers (RFC 5280 4.2.1.3). */
const KEY_USAGE = Object.freeze({ digitalSignature: 0, keyCertSign: 5, cRLSign: 6 });

export interface CertificateSpec {
  /** Unsigned big-endian serial number bytes (at most 20, RFC 5280 4.1.2.2). */
  readonly serial: Uint8Array;
  readonly subjectCommonName: string;
  readonly issuerCommonName: string;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
  /** The certified public key (Ed25519). */
  readonly publicKey: KeyObject;
  /** The issuer's key: its public key names it (authorityKeyIdentifier), its private key signs. */
  readonly issuerPublicKey: KeyObject;
  readonly issuerPrivateKey: KeyObject;
  /** True for a CA certificate (basicConstraints cA, keyCertSign). */
  readonly ca: boolean;
  /** subjectAltName URIs. */
  readonly uris: readonly string[];
}

const ORGANIZATION = 'hearsay';

function name(commonName: string): Uint8Array {
  return sequence(
    setOf(sequence(oid(OID.organization), utf8String(ORGANIZATION))),
    setOf(sequence(oid(OID.commonName), utf8String(commonName))),
  );
}

function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? sequence(oid(id), boolean(true), octetString(value)) : sequence(oid(id), octetString(value));
}

/** The 32 raw bytes of an Ed25519 public key (the end of its SubjectPublicKeyInfo). */
export function rawPublicKey(key: KeyObject): Uint8Array {
  const spki = key.export({ type: 'spki', format: 'der' });
  return new Uint8Array(spki.subarray(spki.length - 32));
}

/** The key identifier of RFC 5280 4.2.1.2 method 1: SHA-1 of the public key's bits (as OpenSSL computes it). */
export function keyIdentifier(key: KeyObject): Uint8Array {
  return new Uint8Array(createHash('sha1').update(rawPublicKey(key)).digest());
}

/** The DER TBSCertificate of `spec`. */
export function tbsCertificate(spec: CertificateSpec): Uint8Array {
  if (spec.publicKey.asymmetricKeyType !== 'ed25519' || spec.issuerPublicKey.asymmetricKeyType !== 'ed25519') throw new TypeError('hearsay certificates use Ed25519 keys only');
  if (spec.serial.length === 0 || spec.serial.length > 20) throw new RangeError('a serial number is 1-20 bytes');
  const sigAlg = sequence(oid(OID.ed25519));
  const spki = new Uint8Array(spec.publicKey.export({ type: 'spki', format: 'der' }));
  const usage = spec.ca ? [KEY_USAGE.digitalSignature, KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign] : [KEY_USAGE.digitalSignature];
  const extensions = [
    extension(OID.basicConstraints, true, spec.ca ? sequence(boolean(true), integer(0)) : sequence()),
    extension(OID.keyUsage, true, namedBits(usage)),
    extension(OID.subjectKeyIdentifier, false, octetString(keyIdentifier(spec.publicKey))),
    extension(OID.authorityKeyIdentifier, false, sequence(contextTag(0, keyIdentifier(spec.issuerPublicKey), false))),
    ...(spec.uris.length === 0 ? [] : [extension(OID.subjectAltName, false, sequence(...spec.uris.map((u) => contextTag(6, ascii(u), false))))]),
  ];
  return sequence(
    explicit(0, integer(2)),
    integer(spec.serial),
    sigAlg,
    name(spec.issuerCommonName),
    sequence(x509Time(spec.notBeforeMs), x509Time(spec.notAfterMs)),
    name(spec.subjectCommonName),
    spki,
    explicit(3, sequence(...extensions)),
  );
}

/** The signed certificate, DER. */
export function makeCertificate(spec: CertificateSpec): Uint8Array {
  const tbs = tbsCertificate(spec);
  const signature = sign(null, tbs, spec.issuerPrivateKey);
  return sequence(tbs, sequence(oid(OID.ed25519)), bitString(new Uint8Array(signature)));
}

/** A fresh positive serial number: 16 random bytes, the top bit clear. */
export function freshSerial(): Uint8Array {
  const s = new Uint8Array(randomBytes(16));
  s[0] = ((s[0] as number) & 0x7f) | 0x01;
  return s;
}

export function toPem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export function generateEd25519(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('ed25519');
}

/** The public key of a private key. */
export function publicOf(privateKey: KeyObject): KeyObject {
  return createPublicKey(privateKey);
}

/** PKCS#8 PEM, as `openssl genpkey -algorithm ed25519` writes it. */
export function privateKeyPem(privateKey: KeyObject): string {
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}
