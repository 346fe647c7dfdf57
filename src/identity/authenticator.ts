/**
 * The Ed25519 RecordAuthenticator (membership/authenticator.ts) the agent wires when it runs with a
 * certificate: signs this node's records with its key, verifies peers' records by their
 * certificates, which it checks against the CA (checkCertificate, the same checks as this node's
 * own) and caches by SHA-256 fingerprint, looked up by its first 8 bytes.
 *
 * Every signature covers DOMAIN and then the record's bytes, so a record signature can never be
 * taken for a signature of anything else this key signs. A verified (certificate, signature,
 * bytes) is remembered in a bounded map keyed by the signature: the copies of one piece of gossip
 * that reach a node from its several relays cost one Ed25519 verification.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import type { CertOutcome, RecordAuthenticator, VerifyOutcome } from '../membership/authenticator.js';
import { checkCertificate, IdentityError, type NodeIdentity } from './identity.js';
import { revocationOf, type RevocationList } from './revocations.js';
import { servicesAllow } from './spiffe.js';
import { crypto } from '../builtins.js';


/** What a record signature is over: this, then the record's bytes. */
export const RECORD_SIGNATURE_DOMAIN = Buffer.from('hearsay/record/1\0', 'latin1');

/** A peer's certificate, checked, as the cache holds it. */
interface PeerCert {
  readonly node: string;
  readonly services: readonly string[];
  readonly publicKey: KeyObject;
  readonly der: Uint8Array;
  readonly serial: string;
  readonly fingerprint256: string;
  readonly notAfterMs: number;
  revoked: boolean;
}

export interface Ed25519AuthenticatorOptions {
  readonly identity: NodeIdentity;
  /** The CA every peer certificate must be issued by. */
  readonly ca: X509Certificate;
  readonly revocations?: RevocationList;
  /** Wall-clock ms, for certificate validity. @default Date.now */
  readonly now?: () => number;
  /** Verified signatures remembered. @default 65536 */
  readonly verifiedCacheSize?: number;
  /**
   * The service a state entry names (the registry's instance entries), null for an entry that
   * names none: a receiver drops an entry naming a service its owner's certificate does not allow.
   */
  readonly serviceOf?: (key: string, value: Uint8Array) => string | null;
  /** Peer certificates held. @default 100000 */
  readonly maxCertificates?: number;
}

/** What the authenticator did, for the cost bench and /metrics. */
export interface AuthenticatorStats {
  signatures: number;
  /** Ed25519 verifications run (cache misses). */
  verifications: number;
  /** Signed records found verified already. */
  cacheHits: number;
}

const key8 = (fp: Uint8Array): string => Buffer.from(fp.buffer, fp.byteOffset, fp.byteLength).toString('hex');

export class Ed25519Authenticator implements RecordAuthenticator {
  fingerprint: Uint8Array;
  certificate: Uint8Array;
  readonly stats: AuthenticatorStats = { signatures: 0, verifications: 0, cacheHits: 0 };
  private privateKey: KeyObject;
  private readonly ca: X509Certificate;
  private revocations: RevocationList | undefined;
  private readonly now: () => number;
  private readonly certs = new Map<string, PeerCert>();
  /** Verified signatures (base64) to the fingerprint and bytes they were verified with. */
  private readonly verified = new Map<string, { readonly fp: string; readonly bytes: Uint8Array }>();
  private readonly cacheSize: number;
  private readonly serviceOf: ((key: string, value: Uint8Array) => string | null) | undefined;
  private readonly maxCerts: number;

  constructor(options: Ed25519AuthenticatorOptions) {
    const id = options.identity;
    this.ca = options.ca;
    this.revocations = options.revocations;
    this.now = options.now ?? Date.now;
    this.cacheSize = options.verifiedCacheSize ?? 65_536;
    this.serviceOf = options.serviceOf;
    this.maxCerts = options.maxCertificates ?? 100_000;
    this.privateKey = id.privateKey;
    this.certificate = new Uint8Array(id.certificate.raw);
    this.fingerprint = fingerprintPrefix(this.certificate);
    this.holdOwn(id);
  }

  /**
   * A renewed certificate and key (the agent's setIdentity): signed from now on; the old
   * certificate stays cached, so records signed with it verify until it expires.
   */
  renew(id: NodeIdentity): void {
    this.privateKey = id.privateKey;
    this.certificate = new Uint8Array(id.certificate.raw);
    this.fingerprint = fingerprintPrefix(this.certificate);
    this.holdOwn(id);
    if (id.revocations !== undefined) this.setRevocations(id.revocations);
  }

  private holdOwn(id: NodeIdentity): void {
    this.certs.set(key8(this.fingerprint), {
      node: id.node,
      services: id.services,
      publicKey: id.certificate.publicKey,
      der: this.certificate,
      serial: id.serial,
      fingerprint256: id.fingerprint,
      notAfterMs: id.notAfterMs,
      revoked: false,
    });
  }

  sign(bytes: Uint8Array): Uint8Array {
    this.stats.signatures++;
    return new Uint8Array(crypto().sign(null, Buffer.concat([RECORD_SIGNATURE_DOMAIN, bytes]), this.privateKey));
  }

  verify(author: string, fingerprint: Uint8Array, signature: Uint8Array, bytes: Uint8Array): VerifyOutcome {
    const fp = key8(fingerprint);
    const cert = this.certs.get(fp);
    if (cert === undefined) return 'unknown-cert';
    if (cert.revoked) return 'revoked';
    if (this.now() >= cert.notAfterMs) return 'bad-cert';
    if (cert.node !== author) return 'cert-name-mismatch';
    const sig = Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength).toString('base64');
    const hit = this.verified.get(sig);
    if (hit !== undefined && hit.fp === fp && Buffer.compare(hit.bytes, bytes) === 0) {
      this.stats.cacheHits++;
      return 'ok';
    }
    this.stats.verifications++;
    if (!crypto().verify(null, Buffer.concat([RECORD_SIGNATURE_DOMAIN, bytes]), cert.publicKey, signature)) return 'bad-signature';
    if (this.verified.size >= this.cacheSize) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(sig, { fp, bytes: bytes.slice() });
    return 'ok';
  }

  verifyEntry(owner: string, fingerprint: Uint8Array, signature: Uint8Array, bytes: Uint8Array, key: string, value: Uint8Array | null): VerifyOutcome | 'service-not-allowed' {
    const outcome = this.verify(owner, fingerprint, signature, bytes);
    if (outcome !== 'ok' || value === null || this.serviceOf === undefined) return outcome;
    const service = this.serviceOf(key, value);
    if (service === null) return 'ok';
    const cert = this.certs.get(key8(fingerprint));
    return cert !== undefined && servicesAllow(cert.services, service) ? 'ok' : 'service-not-allowed';
  }

  certificateOf(fingerprint: Uint8Array): Uint8Array | undefined {
    return this.certs.get(key8(fingerprint))?.der;
  }

  addCertificate(der: Uint8Array): CertOutcome {
    const fp = key8(fingerprintPrefix(der));
    const held = this.certs.get(fp);
    if (held !== undefined) return held.revoked ? 'revoked' : 'known';
    let cert: X509Certificate;
    try {
      cert = new (crypto().X509Certificate)(der);
    } catch {
      return 'bad-cert';
    }
    let claims;
    try {
      claims = checkCertificate(this.ca, cert, this.now(), this.revocations);
    } catch (err) {
      if (err instanceof IdentityError) return err.problem === 'revoked' ? 'revoked' : 'bad-cert';
      throw err;
    }
    if (this.certs.size >= this.maxCerts) return 'bad-cert';
    this.certs.set(fp, {
      node: claims.node,
      services: claims.services,
      publicKey: cert.publicKey,
      der: der.slice(),
      serial: cert.serialNumber,
      fingerprint256: cert.fingerprint256,
      notAfterMs: claims.notAfterMs,
      revoked: false,
    });
    return 'new';
  }

  certificates(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const c of this.certs.values()) if (!c.revoked && this.now() < c.notAfterMs) out.push(c.der);
    return out;
  }

  /** A newer revocation list: certificates it names are refused from now on (cached ones too). */
  setRevocations(list: RevocationList): void {
    this.revocations = list;
    for (const c of this.certs.values()) if (revocationOf(list, c.serial, c.fingerprint256) !== undefined) c.revoked = true;
  }

  /**
   * The nodes every one of whose certificates held (and not expired) is revoked: they can sign
   * nothing this node accepts any more, so the view drops them. A node renewed onto a certificate
   * the list does not name is not among them.
   */
  revokedNodes(): Set<string> {
    const now = this.now();
    const revoked = new Set<string>();
    const valid = new Set<string>();
    for (const c of this.certs.values()) {
      if (c.revoked) revoked.add(c.node);
      else if (now < c.notAfterMs) valid.add(c.node);
    }
    for (const n of valid) revoked.delete(n);
    return revoked;
  }

  /** Certificates held, this node's included. */
  get certificateCount(): number {
    return this.certs.size;
  }
}

/** The first 8 bytes of a certificate's SHA-256 (what a signed record names it by). */
export function fingerprintPrefix(der: Uint8Array): Uint8Array {
  return new Uint8Array(crypto().createHash('sha256').update(der).digest().subarray(0, 8));
}
